package dev.kubejit.api;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.Test;

class RequestLocksTest {
  @Test
  void differentRequestsNeverShareALock() {
    RequestLocks locks = new RequestLocks();
    List<Lock> held = new ArrayList<>();
    Set<Lock> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
    for (int i = 0; i < 10_000; i++) {
      Lock l = locks.get(RequestId.random());
      held.add(l);
      distinct.add(l);
    }
    assertTrue(distinct.size() == held.size(), "two of 10,000 requests shared a lock");
  }

  @Test
  void oneRequestHasOneLockWhileItIsReferenced() throws Exception {
    RequestLocks locks = new RequestLocks();
    RequestId id = RequestId.random();
    Lock first = locks.get(id);
    assertSame(first, locks.get(RequestId.parse(id.value())));
    assertNotSame(first, locks.get(RequestId.random()));

    first.lock();
    try {
      CountDownLatch tried = new CountDownLatch(1);
      boolean[] acquired = new boolean[1];
      Thread other = new Thread(() -> {
        acquired[0] = locks.get(id).tryLock();
        tried.countDown();
      });
      other.start();
      assertTrue(tried.await(10, TimeUnit.SECONDS));
      other.join();
      assertTrue(!acquired[0], "another thread locked a request whose lock is held");
    } finally {
      first.unlock();
    }
  }

  @Test
  void nullIsRefused() {
    assertThrows(NullPointerException.class, () -> new RequestLocks().get(null));
  }
}
