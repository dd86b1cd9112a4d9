package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Identity;
import java.util.ArrayList;
import java.util.List;

/**
 * Development only: the identity is the value of a header, {@code user} or {@code
 * user;group1,group2}, accepted only from a loopback address. Anyone who can reach the port can be
 * anyone, so the service refuses this mode unless it listens on loopback.
 */
final class DevHeaderAuthenticator implements Authenticator {
  static final String SOURCE = "dev-header";

  private final String header;

  DevHeaderAuthenticator(String header) {
    this.header = requireNonNull(header, "header");
  }

  @Override
  public Identity authenticate(Presented presented) {
    if (!ServerConfig.isLoopback(presented.remoteAddress())) {
      throw new AuthenticationException("development header authentication accepts loopback callers only");
    }
    String value = presented.header(header).orElseThrow(() -> new AuthenticationException(
        "expected header " + header + ": USER or USER;GROUP1,GROUP2 (development mode)"));
    String v = value.strip();
    String user;
    List<String> groups = new ArrayList<>();
    int semi = v.indexOf(';');
    if (semi < 0) {
      user = v;
    } else {
      user = v.substring(0, semi).strip();
      for (String g : v.substring(semi + 1).split(",")) {
        if (!g.isBlank()) {
          groups.add(g.strip());
        }
      }
    }
    if (user.isEmpty()) {
      throw new AuthenticationException("header " + header + " names no user; expected USER or USER;GROUP1,GROUP2");
    }
    try {
      return Identity.of(user, groups).assertedBy(SOURCE);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("header " + header + " is not a valid identity: " + e.getMessage());
    }
  }

  String header() {
    return header;
  }

  @Override
  public String toString() {
    return "DevHeaderAuthenticator{header=" + header + "}";
  }
}
