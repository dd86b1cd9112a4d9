package dev.kubejit.server;

import java.time.Clock;

/**
 * Placeholder until the OIDC authenticator lands (another change replaces this file): refuses to
 * start a service configured for OIDC.
 */
final class OidcAuthenticator {
  private OidcAuthenticator() {}

  static Authenticator fromConfig(ServerConfig.Authentication auth, Clock clock) {
    throw new ConfigException(String.valueOf(auth), 0, 0, "/authentication/oidc", "OIDC not available yet", null);
  }
}
