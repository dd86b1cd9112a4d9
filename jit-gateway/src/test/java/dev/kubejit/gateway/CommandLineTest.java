package dev.kubejit.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CommandLineTest {
  @Test
  void execKeepsTheArgvExactlyAsQuotedWithNoExpansion() throws Exception {
    CommandLine c = CommandLine.parse("exec web -c app -- cat '/var/log/app.log; id' \"$(id)\" a\\ b *");
    assertEquals(CommandLine.Kind.EXEC, c.kind);
    assertEquals("web", c.pod);
    assertEquals("app", c.container().orElseThrow());
    assertFalse(c.stdin);
    assertEquals(List.of("cat", "/var/log/app.log; id", "$(id)", "a b", "*"), c.argv);
  }

  @Test
  void execWithStdinAndArgumentsThatLookLikeOptions() throws Exception {
    CommandLine c = CommandLine.parse("exec web -i -- grep -e -- /var/log/app.log");
    assertTrue(c.stdin);
    assertEquals(List.of("grep", "-e", "--", "/var/log/app.log"), c.argv);
  }

  @Test
  void logsOptions() throws Exception {
    CommandLine c = CommandLine.parse("logs web --tail 20 --follow");
    assertEquals(CommandLine.Kind.LOGS, c.kind);
    assertEquals(20, c.tail().getAsInt());
    assertTrue(c.follow);
    assertTrue(CommandLine.parse("logs web").tail().isEmpty());
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "", "   ", "sh", "bash -c id", "exec", "exec web", "exec web --", "exec web cat /etc/passwd", "exec -- cat x",
    "exec Web -- cat x", "exec ../web -- cat x", "exec web -c -- cat x", "exec web -c a -c b -- cat x",
    "exec web -- 'unterminated", "exec web -- \"unterminated", "exec web -- x\\", "logs", "logs web --tail",
    "logs web --tail -1", "logs web --tail 1000001", "logs web --since 1h", "help me", "exec web -- cat \u0000x",
    "exec web -- cat \u001b[2Jx",
  })
  void refusesWhatIsNotACommandOfTheLanguage(String text) {
    CommandLine.UsageException e = assertThrows(CommandLine.UsageException.class, () -> CommandLine.parse(text));
    assertFalse(e.getMessage().isEmpty());
    assertFalse(e.getMessage().chars().anyMatch(ch -> ch < 0x20), e.getMessage());
  }

  @Test
  void grantKeyIdIsReadAsJitCredentialsSshWritesIt() {
    String r = dev.kubejit.api.RequestId.random().value();
    String g = dev.kubejit.api.GrantId.random().value();
    GrantKeyId id = GrantKeyId.parse("kubejit:request=" + r + ":grant=" + g + ":user=alice");
    assertEquals("alice", id.user);
    assertEquals(g, id.grant.value());
    assertThrows(IllegalArgumentException.class, () -> GrantKeyId.parse("kubejit:request=r-abc:grant=g-def:user=alice"));
    assertThrows(IllegalArgumentException.class, () -> GrantKeyId.parse("kubejit-cli:alice:2026"));
    assertThrows(IllegalArgumentException.class, () -> GrantKeyId.parse("kubejit:request=r:grant=g:user=alice extra"));
    assertThrows(IllegalArgumentException.class, () -> GrantKeyId.parse(null));
  }
}
