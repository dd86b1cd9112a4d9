package dev.kubejit.chatops;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kubejit.chatops.SlackVerifier.Verdict;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SlackVerifierTest {
  static final byte[] SECRET = "8f742231b10e8888abcd99yyyzzz85a5".getBytes(UTF_8);
  final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T10:00:00Z"));
  final SlackVerifier v = new SlackVerifier(SECRET, clock);

  static String sign(byte[] secret, long ts, byte[] body) {
    return "v0=" + SlackVerifier.hex(SlackVerifier.sign(secret, "v0:" + ts + ":", body));
  }

  long now() {
    return clock.instant().getEpochSecond();
  }

  @Test
  void slacksDocumentedExampleVerifies() {
    // the example from Slack's "Verifying requests from Slack" page
    byte[] body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        + "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        + "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        + "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c").getBytes(UTF_8);
    assertEquals("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", sign(SECRET, 1531420618, body));
  }

  @Test
  void aSignedRequestIsAcceptedOnce() {
    byte[] body = "a=1".getBytes(UTF_8);
    String sig = sign(SECRET, now(), body);
    assertEquals(Verdict.ACCEPT, v.verify(Long.toString(now()), sig, false, body));
    assertEquals(Verdict.STALE, v.verify(Long.toString(now()), sig, false, body));
    assertEquals(Verdict.ALREADY_HANDLED, v.verify(Long.toString(now()), sig, true, body));
  }

  @Test
  void aRetryUnderANewSignatureIsRecognisedByItsBody() {
    byte[] body = "trigger_id=1".getBytes(UTF_8);
    assertEquals(Verdict.ACCEPT, v.verify(Long.toString(now()), sign(SECRET, now(), body), false, body));
    clock.advance(Duration.ofSeconds(30));
    assertEquals(Verdict.ALREADY_HANDLED, v.verify(Long.toString(now()), sign(SECRET, now(), body), true, body));
    assertEquals(Verdict.STALE, v.verify(Long.toString(now()), sign(SECRET, now(), body), false, body));
  }

  @Test
  void theWindowIsFiveMinutesBothWays() {
    long t = now();
    for (long ts : new long[] {t - 300, t + 300}) {
      byte[] body = ("x=" + ts).getBytes(UTF_8);
      assertEquals(Verdict.ACCEPT, v.verify(Long.toString(ts), sign(SECRET, ts, body), false, body), "at " + (ts - t));
    }
    for (long ts : new long[] {t - 301, t + 301, 0}) {
      byte[] body = ("y=" + ts).getBytes(UTF_8);
      assertEquals(Verdict.STALE, v.verify(Long.toString(ts), sign(SECRET, ts, body), false, body), "at " + (ts - t));
    }
  }

  @Test
  void badSignaturesAndHeadersAreInvalid() {
    byte[] body = "b=2".getBytes(UTF_8);
    String ts = Long.toString(now());
    String good = sign(SECRET, now(), body);
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify(ts, sign("other".getBytes(UTF_8), now(), body), false, body));
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify(ts, good.toUpperCase(), false, body));
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify(ts, good, false, "b=3".getBytes(UTF_8)));
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify(Long.toString(now() + 1), good, false, body));
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify(null, good, false, body));
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify(ts, null, false, body));
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify("-5", good, false, body));
    assertEquals(Verdict.INVALID_SIGNATURE, v.verify(ts, "v0=" + good.substring(4), false, body));
    assertEquals(Verdict.ACCEPT, v.verify(ts, good, false, body), "the refusals above remembered nothing");
  }

  @Test
  void aReplayAfterTheWindowIsStaleAndTheCacheForgetsIt() {
    byte[] body = "c=3".getBytes(UTF_8);
    long ts = now();
    String sig = sign(SECRET, ts, body);
    assertEquals(Verdict.ACCEPT, v.verify(Long.toString(ts), sig, false, body));
    clock.advance(Duration.ofMinutes(6));
    assertEquals(Verdict.STALE, v.verify(Long.toString(ts), sig, false, body));
  }

  @Test
  void anEmptySecretIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new SlackVerifier(new byte[0], clock));
  }
}
