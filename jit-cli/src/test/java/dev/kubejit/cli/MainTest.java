package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class MainTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void versionPrintsTheProjectVersion() {
    assertEquals(0, run("--version"));
    assertTrue(out.toString().startsWith("kubejit 0.1.0-SNAPSHOT"), out.toString());
  }

  @Test
  void helpListsTheDemo() {
    assertEquals(0, run("--help"));
    assertTrue(out.toString().contains("demo"), out.toString());
  }

  @Test
  void unknownOptionIsOneLineOnStderrAndNonZero() {
    assertEquals(64, run("--no-such-option"));
    assertTrue(err.toString().startsWith("kubejit: Unknown option"), err.toString());
    assertFalse(err.toString().contains("\tat "), "no stack trace without --debug");
  }

  @Test
  void demoRunsTheLifecycle() {
    assertEquals(0, run("demo"));
    String text = out.toString();
    assertTrue(text.contains("SELF_APPROVAL"), text);
    assertTrue(text.contains("GRANT_EXPIRED"), text);
    assertTrue(text.contains("rm -rf /  -> DENY"), text);
  }
}
