package dev.kubejit.policy;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.HookAnswer;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.spi.AccessHook;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in {@link AccessHook}: for a role whose policy names an {@code accessHook}, POSTs a JSON
 * description of the request to the hook's URL and reads {@code {"allow": true|false, "reason":
 * "..."}} back.
 *
 * <p>Each request carries {@code X-KubeJIT-Timestamp} (Unix seconds from the injected clock) and
 * {@code X-KubeJIT-Signature: v1=<hex>}, the HMAC-SHA256, keyed with the contents of the hook's
 * {@code secretFile}, of the timestamp, a {@code .} and the exact body bytes; the receiver
 * recomputes it, compares in constant time and refuses old timestamps. Fails closed: no answer
 * within the hook's {@code timeout} (connect, headers and body together), any status but 200, a
 * body that is not exactly that object, a body over 64 KiB, or an unreachable service refuses, with
 * the cause as the reason. Redirects are not followed.
 *
 * <p>Secret files are read once, by {@link Builder#build()}; they must not be readable by group or
 * others (on POSIX file systems) and hold at least 16 bytes (a trailing newline is dropped). The
 * secret never appears in a message, log line or {@code toString()}. Thread-safe.
 */
public final class HttpAccessHook implements AccessHook {
  private static final Logger log = LoggerFactory.getLogger(HttpAccessHook.class);
  private static final int MAX_BODY = 64 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final Map<String, Target> byRole;
  private final Clock clock;
  private final HttpClient http;

  private record Target(Model.HookSpec spec, byte[] secret) {}

  private HttpAccessHook(Map<String, Target> byRole, Clock clock) {
    this.byRole = Map.copyOf(byRole);
    this.clock = clock;
    this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /** Starts a hook for the roles of {@code policy} that configure an {@code accessHook}. */
  public static Builder forPolicy(Policy policy) {
    return new Builder(requireNonNull(policy, "policy"));
  }

  /** The roles this hook applies to. */
  public Set<String> roles() {
    return byRole.keySet();
  }

  @Override
  public Optional<HookAnswer> check(Stage stage, RequestId id, AccessRequest request) {
    requireNonNull(stage, "stage");
    requireNonNull(id, "id");
    Target t = byRole.get(requireNonNull(request, "request").role());
    if (t == null) {
      return Optional.empty();
    }
    String name = t.spec().name();
    byte[] body = body(stage, id, request);
    String timestamp = Long.toString(clock.instant().getEpochSecond());
    HttpRequest post = HttpRequest.newBuilder(t.spec().url())
        .timeout(t.spec().timeout())
        .header("Content-Type", "application/json")
        .header("X-KubeJIT-Timestamp", timestamp)
        .header("X-KubeJIT-Signature", "v1=" + sign(t.secret(), timestamp, body))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
        .build();
    CompletableFuture<HttpResponse<byte[]>> pending = http.sendAsync(post, HttpResponse.BodyHandlers.ofByteArray());
    HttpResponse<byte[]> response;
    try {
      response = pending.get(t.spec().timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      pending.cancel(true);
      return Optional.of(HookAnswer.refuse(name, "hook " + name + " did not answer within " + t.spec().timeout()
          + "; refused"));
    } catch (InterruptedException e) {
      pending.cancel(true);
      Thread.currentThread().interrupt();
      return Optional.of(HookAnswer.refuse(name, "interrupted while waiting for hook " + name + "; refused"));
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      log.warn("access hook {} at {} failed: {}", name, t.spec().url(), cause.toString());
      String what = cause instanceof java.net.http.HttpTimeoutException
          ? "did not answer within " + t.spec().timeout()
          : "could not be reached (" + cause.getClass().getSimpleName() + ")";
      return Optional.of(HookAnswer.refuse(name, "hook " + name + " " + what + "; refused"));
    }
    return Optional.of(answer(name, response));
  }

  private static HookAnswer answer(String name, HttpResponse<byte[]> response) {
    if (response.statusCode() != 200) {
      return HookAnswer.refuse(name, "hook " + name + " answered HTTP " + response.statusCode() + "; refused");
    }
    byte[] bytes = response.body();
    if (bytes.length > MAX_BODY) {
      return HookAnswer.refuse(name, "hook " + name + " answered more than " + MAX_BODY + " bytes; refused");
    }
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (IOException e) {
      return HookAnswer.refuse(name, "hook " + name + " answered with invalid JSON; refused");
    }
    if (root == null || !root.isObject()) {
      return HookAnswer.refuse(name, "hook " + name + " did not answer with a JSON object; refused");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("allow") && !f.equals("reason")) {
        return HookAnswer.refuse(name, "hook " + name + " answered with an unknown field " + Text.quote(f)
            + " (expected allow, reason); refused");
      }
    }
    JsonNode allow = root.get("allow");
    JsonNode reason = root.get("reason");
    if (allow == null || !allow.isBoolean()) {
      return HookAnswer.refuse(name, "hook " + name + " answered without a boolean \"allow\"; refused");
    }
    if (reason != null && !reason.isTextual()) {
      return HookAnswer.refuse(name, "hook " + name + " answered with a \"reason\" that is not a string; refused");
    }
    String why = reason == null || reason.asText().isBlank() ? "(no reason given)" : reason.asText();
    return allow.booleanValue() ? HookAnswer.allow(name, why) : HookAnswer.refuse(name, why);
  }

  private static byte[] body(Stage stage, RequestId id, AccessRequest request) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("apiVersion", "kubejit.dev/v1");
    m.put("kind", "AccessHookRequest");
    m.put("stage", stage.name().toLowerCase(Locale.ROOT));
    m.put("requestId", id.toString());
    Map<String, Object> who = new LinkedHashMap<>();
    who.put("user", request.requester().user());
    who.put("groups", request.requester().groups());
    m.put("requester", who);
    m.put("role", request.role());
    m.put("action", request.action().name());
    m.put("cluster", request.scope().cluster());
    request.scope().namespace().ifPresent(ns -> m.put("namespace", ns));
    request.duration().ifPresent(d -> m.put("duration", d.toString()));
    request.ticket().ifPresent(tk -> m.put("ticket", tk));
    request.justification().ifPresent(j -> m.put("justification", j));
    try {
      return JSON.writeValueAsBytes(m);
    } catch (IOException e) {
      throw new IllegalStateException("cannot render the hook request", e);
    }
  }

  /** Lower-case hex HMAC-SHA256 of {@code timestamp + "." + body}. */
  static String sign(byte[] secret, String timestamp, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      mac.update(timestamp.getBytes(StandardCharsets.US_ASCII));
      mac.update((byte) '.');
      return com.google.common.io.BaseEncoding.base16().lowerCase().encode(mac.doFinal(body));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }

  @Override
  public String toString() {
    Map<String, String> shown = new java.util.TreeMap<>();
    byRole.forEach((role, t) -> shown.put(role, t.spec().name() + " " + t.spec().url()));
    return "HttpAccessHook" + shown;
  }

  /** Builds an {@link HttpAccessHook}. */
  public static final class Builder {
    private final Policy policy;
    private Clock clock;

    private Builder(Policy policy) {
      this.policy = policy;
    }

    /** The clock for the timestamp header (default: system UTC). */
    public Builder clock(Clock clock) {
      if (this.clock != null) {
        throw new IllegalStateException("clock was already set to " + this.clock);
      }
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Reads every configured secret file and returns the hook.
     *
     * @throws IllegalArgumentException if a secret file is missing, unreadable, readable by group or
     *     others, or shorter than 16 bytes (the message names the file, never its contents)
     */
    public HttpAccessHook build() {
      Map<String, Target> byRole = new HashMap<>();
      Map<String, byte[]> secrets = new HashMap<>();
      for (Model.Role r : policy.document().roles()) {
        Model.HookSpec spec = r.accessHook();
        if (spec != null) {
          byte[] secret = secrets.computeIfAbsent(spec.secretFile(), f -> readSecret(Path.of(f), spec.name()));
          byRole.put(r.name(), new Target(spec, secret));
        }
      }
      return new HttpAccessHook(byRole, clock == null ? Clock.systemUTC() : clock);
    }

    private static byte[] readSecret(Path file, String hook) {
      byte[] bytes;
      try {
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
          Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
          if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
            throw new IllegalArgumentException("secret file " + file + " of access hook " + hook
                + " is readable by group or others; chmod 600 it");
          }
        }
        bytes = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read secret file " + file + " of access hook " + hook + ": "
            + e.getClass().getSimpleName(), e);
      }
      int n = bytes.length;
      while (n > 0 && (bytes[n - 1] == '\n' || bytes[n - 1] == '\r')) {
        n--;
      }
      if (n < 16) {
        throw new IllegalArgumentException("secret file " + file + " of access hook " + hook
            + " holds fewer than 16 bytes");
      }
      return java.util.Arrays.copyOf(bytes, n);
    }
  }
}
