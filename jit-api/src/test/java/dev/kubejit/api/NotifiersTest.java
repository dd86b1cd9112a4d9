package dev.kubejit.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryNotifier;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.Notifiers;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.util.List;
import org.junit.jupiter.api.Test;

class NotifiersTest {
  @Test
  void everyNotifierHearsEveryNotificationEvenWhenOneFails() {
    InMemoryNotifier first = Notifier.inMemory();
    InMemoryNotifier last = Notifier.inMemory();
    Notifier failing = n -> {
      throw new IllegalStateException("chat is down");
    };
    JitBroker broker = JitBroker.builder().clock(new TestClock(Fixtures.T0)).policy(Fixtures.policy())
        .store(RequestStore.inMemory()).auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory())
        .notifier(Notifiers.fanOut(first, failing, last)).build();
    broker.submit(Fixtures.request(Fixtures.ALICE, Action.LOGS).build());
    assertEquals(first.notifications().size(), last.notifications().size());
    assertEquals(List.copyOf(first.notifications()), List.copyOf(last.notifications()));
    assertEquals(true, !last.notifications().isEmpty());
  }

  @Test
  void oneNotifierIsReturnedAsItIs() {
    Notifier n = Notifier.inMemory();
    assertSame(n, Notifiers.fanOut(n));
  }
}
