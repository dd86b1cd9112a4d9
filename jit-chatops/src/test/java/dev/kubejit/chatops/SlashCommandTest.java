package dev.kubejit.chatops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlashCommandTest {
  static SlashCommand ok(String s) {
    return SlashCommand.parse(s).orElseThrow(() -> new AssertionError("should parse: " + s));
  }

  @Test
  void theGrammar() {
    SlashCommand r = ok("  request oncall-debug exec payments 1h30m INC-42   pod is  crash-looping ");
    assertEquals(SlashCommand.Verb.REQUEST, r.verb);
    assertEquals(List.of("oncall-debug", "exec", "payments", "1h30m", "INC-42"), r.args);
    assertEquals("pod is  crash-looping", r.text);
    assertEquals("looks fine", ok("approve abc looks fine").text);
    assertNull(ok("approve abc").text);
    assertEquals("no ticket", ok("deny abc no ticket").text);
    assertNull(ok("revoke abc").text);
    assertEquals(List.of("abc"), ok("STATUS abc").args);
    assertEquals(List.of(), ok("status").args);
    assertEquals(SlashCommand.Verb.PENDING, ok("pending").verb);
    assertEquals(SlashCommand.Verb.HELP, ok("help").verb);
  }

  @Test
  void malformedInputIsEmpty() {
    for (String bad : new String[] {"", "   ", "approve", "deny abc", "request a b c 30m INC-1", "request a b c 30x INC-1 why",
        "request a b c 0m INC-1 why", "status a b", "pending now", "help me", "activate abc", "requestx a b c 30m T r"}) {
      assertTrue(SlashCommand.parse(bad).isEmpty(), bad);
    }
    assertTrue(SlashCommand.parse(null).isEmpty());
  }

  @Test
  void durations() {
    assertEquals(Duration.ofMinutes(30), SlashCommand.duration("30m").orElseThrow());
    assertEquals(Duration.ofHours(2), SlashCommand.duration("2H").orElseThrow());
    assertEquals(Duration.ofMinutes(90), SlashCommand.duration("1h30m").orElseThrow());
    for (String bad : new String[] {"", "m", "h", "30", "30m1h", "-5m", "PT30M", "99999m"}) {
      assertTrue(SlashCommand.duration(bad).isEmpty(), bad);
    }
  }
}
