package dev.kubejit.policy;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

/** Shared test data: the example policy in three formats, identities, requests and grants. */
final class Fixtures {
  static final Identity ALICE = Identity.of("alice", "oncall-payments");
  static final Identity BOB = Identity.of("bob", "oncall-checkout");
  static final Identity CAROL = Identity.of("carol", "sre-leads");
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

  private Fixtures() {}

  static String exampleName(PolicyFormat f) {
    return "payments-oncall." + f.name().toLowerCase(java.util.Locale.ROOT);
  }

  static byte[] resource(String name) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String text(String name) {
    return new String(resource(name), StandardCharsets.UTF_8);
  }

  static Policy example(PolicyFormat f) {
    return PolicyLoader.parse(resource("policies/" + exampleName(f)), f, exampleName(f), "abc123");
  }

  static Policy parse(String text, PolicyFormat f) {
    return PolicyLoader.parse(text.getBytes(StandardCharsets.UTF_8), f, "test." + f.name().toLowerCase(), null);
  }

  static AccessRequest.Builder request(Identity who, String role, Action action, String namespace) {
    return AccessRequest.builder().requester(who).role(role).action(action)
        .scope(Scope.namespace("prod", namespace));
  }

  static Grant execGrant(String role) {
    return Grant.builder().id(GrantId.random()).requestId(RequestId.random()).holder(ALICE).role(role)
        .action(Action.EXEC).scope(Scope.namespace("prod", "payments"))
        .window(T0, T0.plus(Duration.ofMinutes(30))).build();
  }
}
