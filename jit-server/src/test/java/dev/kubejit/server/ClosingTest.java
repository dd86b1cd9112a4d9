package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClosingTest {
  private final List<String> closed = new ArrayList<>();

  private Deque<AutoCloseable> opened(String... failing) {
    Deque<AutoCloseable> d = new ArrayDeque<>();
    for (String name : List.of("store", "audit", "listener")) {
      d.push(() -> {
        closed.add(name);
        if (List.of(failing).contains(name)) {
          throw new IOException(name + " would not close");
        }
      });
    }
    return d;
  }

  @Test
  void closesNewestFirst() {
    Deque<AutoCloseable> d = opened();
    Closing.closeAll(d);
    assertEquals(List.of("listener", "audit", "store"), closed);
    assertTrue(d.isEmpty());
  }

  @Test
  void triesEveryResourceAndReportsTheFirstFailureWithTheOthersSuppressed() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Closing.closeAll(opened("listener", "store")));
    assertEquals(List.of("listener", "audit", "store"), closed);
    assertTrue(e.getMessage().contains("listener would not close"), e.getMessage());
    assertEquals(1, e.getSuppressed().length);
    assertTrue(e.getSuppressed()[0].getMessage().contains("store would not close"));
  }

  @Test
  void afterAFailedStartEveryFailureToCloseIsSuppressedByTheCause() {
    IllegalArgumentException cause = new IllegalArgumentException("bad config");
    assertSame(cause, Closing.closeAfter(cause, opened("audit")));
    assertEquals(List.of("listener", "audit", "store"), closed);
    assertEquals(1, cause.getSuppressed().length);
  }
}
