package dev.kubejit.chatops;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.common.hash.Hashing;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Slack's v0 request signature: {@code X-Slack-Signature = v0=hex(HMAC-SHA256(secret,
 * "v0:" + X-Slack-Request-Timestamp + ":" + raw body))}.
 *
 * <p>Design notes: the timestamp must lie within five minutes of the injected clock in either
 * direction; the signature is compared in constant time ({@link MessageDigest#isEqual}); a
 * signature seen before within the window is a replay, and a body seen before under another
 * signature is a second delivery of the same request. Either is "already seen": a request that
 * carries {@code X-Slack-Retry-Num} is then answered without acting, anything else is refused.
 * Entries leave the caches once their timestamp is outside the window, when a request could not
 * be accepted anyway; the caches are capped, and a full cache refuses (fails closed).
 */
final class SlackVerifier {
  static final Duration WINDOW = Duration.ofMinutes(5);
  static final int MAX_REMEMBERED = 100_000;

  /** What to do with a request. */
  enum Verdict {
    /** A new, authentic request: act on it. */
    ACCEPT,
    /** An authentic retry of a request already handled: answer, do not act again. */
    ALREADY_HANDLED,
    /** Refuse with 401 "invalid signature". */
    INVALID_SIGNATURE,
    /** Refuse with 401 "stale request" (outside the window, or a replay). */
    STALE
  }

  private final byte[] secret;
  private final Clock clock;
  private final Map<String, Long> signatures = new ConcurrentHashMap<>();
  private final Map<String, Long> bodies = new ConcurrentHashMap<>();
  private volatile long lastEviction = Long.MIN_VALUE;

  SlackVerifier(byte[] secret, Clock clock) {
    if (secret.length == 0) {
      throw new IllegalArgumentException("the Slack signing secret is empty");
    }
    this.secret = secret.clone();
    this.clock = clock;
  }

  Verdict verify(String timestampHeader, String signatureHeader, boolean retry, byte[] body) {
    if (timestampHeader == null || signatureHeader == null || !timestampHeader.matches("[0-9]{1,12}")
        || !signatureHeader.matches("v0=[0-9a-f]{64}")) {
      return Verdict.INVALID_SIGNATURE;
    }
    long ts = Long.parseLong(timestampHeader);
    Instant now = clock.instant();
    if (Math.abs(now.getEpochSecond() - ts) > WINDOW.toSeconds()) {
      return Verdict.STALE;
    }
    byte[] expected = ("v0=" + hex(sign(secret, "v0:" + timestampHeader + ":", body))).getBytes(UTF_8);
    if (!MessageDigest.isEqual(expected, signatureHeader.getBytes(UTF_8))) {
      return Verdict.INVALID_SIGNATURE;
    }
    evict(now.getEpochSecond());
    if (signatures.size() >= MAX_REMEMBERED || bodies.size() >= MAX_REMEMBERED) {
      return Verdict.STALE;
    }
    boolean seenSignature = signatures.putIfAbsent(signatureHeader, ts) != null;
    boolean seenBody = bodies.putIfAbsent(Hashing.sha256().hashBytes(body).toString(), ts) != null;
    if (!seenSignature && !seenBody) {
      return Verdict.ACCEPT;
    }
    return retry ? Verdict.ALREADY_HANDLED : Verdict.STALE;
  }

  /** Drops entries outside the window; at most once every 10 seconds of the clock, or when a cache is full. */
  private void evict(long nowSeconds) {
    boolean full = signatures.size() >= MAX_REMEMBERED || bodies.size() >= MAX_REMEMBERED;
    if (!full && nowSeconds - lastEviction < 10) {
      return;
    }
    lastEviction = nowSeconds;
    long oldest = nowSeconds - WINDOW.toSeconds();
    for (Map<String, Long> m : java.util.List.of(signatures, bodies)) {
      for (Iterator<Long> it = m.values().iterator(); it.hasNext(); ) {
        if (it.next() < oldest) {
          it.remove();
        }
      }
    }
  }

  /** HMAC-SHA256 of {@code prefix} (UTF-8) followed by {@code body}. */
  static byte[] sign(byte[] key, String prefix, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update(prefix.getBytes(UTF_8));
      return mac.doFinal(body);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length * 2);
    for (byte x : b) {
      sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
    }
    return sb.toString();
  }
}
