package dev.kubejit.rbac;

import dev.kubejit.api.Action;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import java.time.Duration;
import java.time.Instant;

final class Fixtures {
  static final Instant NOW = Instant.parse("2024-01-01T00:00:00Z");

  private Fixtures() {}

  static Grant grant(String ns, String template, Instant from, Duration ttl) {
    return Grant.builder()
        .id(GrantId.random())
        .requestId(RequestId.random())
        .holder(Identity.of("alice@example.com", "oncall-payments"))
        .role("oncall")
        .action(Action.EXEC)
        .scope(ns == null ? Scope.cluster("prod") : Scope.namespace("prod", ns))
        .window(from, from.plus(ttl))
        .rbacTemplate(template)
        .build();
  }
}
