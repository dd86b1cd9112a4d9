package dev.kubejit.samples.chatops;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatOpsBotTest {
  private final List<String> channel = new ArrayList<>();
  private final JitBroker broker = JitBroker.builder()
      .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r.requesters("oncall-payments")
          .namespaces("payments").durations(Duration.ofMinutes(30), Duration.ofHours(1))
          .auto(Action.LOGS).manual(Action.EXEC, 1, "sre-leads")).build())
      .store(RequestStore.inMemory())
      .auditSink(AuditSink.inMemory())
      .rbacProvisioner(RbacProvisioner.inMemory())
      .notifier(ChatOpsBot.channelNotifier(channel::add))
      .build();
  private final ChatOpsBot bot = new ChatOpsBot(broker, "prod");
  private final Identity alice = Identity.of("alice", List.of("oncall-payments")).assertedBy("slack:T01");
  private final Identity carol = Identity.of("carol", List.of("sre-leads")).assertedBy("slack:T01");

  @Test
  void conversation() {
    String reply = bot.handle(alice, "/jit request oncall-debug exec payments 45m INC-42 thread dump please");
    assertTrue(reply.contains("PENDING_APPROVAL"), reply);
    String id = reply.split(" ")[1];
    assertTrue(channel.get(0).startsWith("[PENDING_APPROVAL] alice asks"), channel.toString());

    assertTrue(bot.handle(alice, "/jit approve " + id).startsWith("refused: alice may not approve"));
    assertTrue(bot.handle(carol, "/jit pending").contains(id));
    assertTrue(bot.handle(carol, "/jit approve " + id + " go").contains("APPROVED"));
    assertTrue(bot.handle(carol, "/jit activate " + id).startsWith("refused: carol may not activate"));
    assertTrue(bot.handle(alice, "/jit activate " + id).startsWith("active: grant "));
    assertTrue(bot.handle(alice, "/jit revoke " + id + " fixed").contains("REVOKED"));
    assertTrue(channel.stream().anyMatch(m -> m.startsWith("[REVOKED]")), channel.toString());
  }

  @Test
  void badInputIsRefusedWithoutChangingAnything() {
    assertTrue(bot.handle(alice, "/jit request oncall-debug exec Payments 45m INC-42").startsWith("refused:"));
    assertTrue(bot.handle(alice, "/jit request oncall-debug exec payments forever INC-42").startsWith("refused:"));
    assertTrue(bot.handle(carol, "/jit approve not-an-id").startsWith("refused:"));
    assertTrue(bot.handle(carol, "hello").startsWith("usage:"));
    assertTrue(channel.isEmpty(), channel.toString());
  }
}
