package dev.kubejit.console;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Identity;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Server-side state of the console: sign-ins in progress (state, PKCE verifier, nonce; one use,
 * ten minutes) and sessions (identity, CSRF token, end). The browser holds only random 256-bit
 * identifiers; the maps are keyed by their SHA-256, so a heap dump does not hand out live cookies.
 * Both maps are bounded: when full, expired entries are dropped, and if that is not enough the
 * new entry is refused.
 */
final class Sessions {
  static final Duration LOGIN_TTL = Duration.ofMinutes(10);
  static final int MAX_ENTRIES = 10_000;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Clock clock;
  private final Duration sessionTtl;
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();

  Sessions(Clock clock, Duration sessionTtl) {
    this.clock = requireNonNull(clock, "clock");
    this.sessionTtl = requireNonNull(sessionTtl, "sessionTtl");
  }

  /** A sign-in in progress. */
  record Pending(String state, String nonce, String codeVerifier, String next, Instant expiresAt) {
    @Override
    public String toString() {
      return "Pending{next " + next + ", expires " + expiresAt + "}";
    }
  }

  /** A signed-in browser. */
  record Session(Identity identity, String csrf, Instant expiresAt) {
    @Override
    public String toString() {
      return "Session{" + identity.user() + ", expires " + expiresAt + "}";
    }
  }

  /** A new session: its cookie value and what it holds. */
  record Opened(String cookie, Session session) {
    @Override
    public String toString() {
      return "Opened{" + session + "}";
    }
  }

  Duration sessionTtl() {
    return sessionTtl;
  }

  Pending begin(String next) {
    Instant now = clock.instant();
    Pending p = new Pending(random(), random(), random(), next, now.plus(LOGIN_TTL));
    sweep(pending, now, Pending::expiresAt);
    if (pending.size() >= MAX_ENTRIES) {
      throw new IllegalStateException("too many sign-ins in progress; try again in a few minutes");
    }
    pending.put(hash(p.state()), p);
    return p;
  }

  /** Takes the sign-in for {@code state} (once); empty if unknown or expired. */
  Optional<Pending> finish(String state) {
    Pending p = pending.remove(hash(state));
    if (p == null || !clock.instant().isBefore(p.expiresAt())) {
      return Optional.empty();
    }
    return Optional.of(p);
  }

  /** Opens a session for {@code identity} that ends at the earlier of the TTL and {@code tokenExpiry}. */
  Opened open(Identity identity, Instant tokenExpiry) {
    Instant now = clock.instant();
    Instant end = now.plus(sessionTtl);
    if (tokenExpiry.isBefore(end)) {
      end = tokenExpiry;
    }
    if (!now.isBefore(end)) {
      throw new IllegalStateException("the ID token has already expired (at " + tokenExpiry + ")");
    }
    sweep(sessions, now, Session::expiresAt);
    if (sessions.size() >= MAX_ENTRIES) {
      throw new IllegalStateException("too many open sessions; try again later");
    }
    String cookie = random();
    Session s = new Session(identity, random(), end);
    sessions.put(hash(cookie), s);
    return new Opened(cookie, s);
  }

  /** The live session for a cookie value; an expired one is removed. */
  Optional<Session> find(String cookie) {
    if (cookie == null || cookie.isEmpty() || cookie.length() > 100) {
      return Optional.empty();
    }
    String key = hash(cookie);
    Session s = sessions.get(key);
    if (s == null) {
      return Optional.empty();
    }
    if (!clock.instant().isBefore(s.expiresAt())) {
      sessions.remove(key, s);
      return Optional.empty();
    }
    return Optional.of(s);
  }

  /** Ends the session for a cookie value (sign-out). */
  boolean end(String cookie) {
    return cookie != null && sessions.remove(hash(cookie)) != null;
  }

  int openSessions() {
    return sessions.size();
  }

  /** Whether {@code presented} is the session's CSRF token, compared in constant time. */
  static boolean csrfMatches(Session s, String presented) {
    if (presented == null) {
      return false;
    }
    return MessageDigest.isEqual(s.csrf().getBytes(StandardCharsets.US_ASCII),
        presented.getBytes(StandardCharsets.US_ASCII));
  }

  private static <V> void sweep(Map<String, V> map, Instant now, java.util.function.Function<V, Instant> end) {
    if (map.size() < MAX_ENTRIES / 2) {
      return;
    }
    for (Iterator<V> it = map.values().iterator(); it.hasNext(); ) {
      if (!now.isBefore(end.apply(it.next()))) {
        it.remove();
      }
    }
  }

  static String random() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static String hash(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return "Sessions[" + sessions.size() + " open, " + pending.size() + " signing in, ttl " + sessionTtl + "]";
  }
}
