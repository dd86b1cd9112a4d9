package dev.kubejit.admission;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhooks as one HTTP-neutral function for a host that serves them on its listener ({@code
 * kubejit serve}): {@code POST} {@code /admission/exec} ({@link ExecAdmission}), {@code /admission/rbac}
 * ({@link RbacWriteAdmission}) and {@code /authorize} ({@link RevocationAuthorizer}), each
 * only if configured. The host passes method, path and body and sends the {@link Reply} as it is:
 * 200 with the review's answer, 400 for a body that is not a review (the API server then applies
 * the webhook's failure policy), 404 for a path not served, 405 for another method.
 */
public final class AdmissionEndpoints {
  /** Where the exec admission webhook is served. */
  public static final String EXEC_PATH = "/admission/exec";
  /** Where the RBAC write guardrails are served. */
  public static final String RBAC_PATH = "/admission/rbac";
  /** Where the authorization webhook is served. */
  public static final String AUTHORIZE_PATH = "/authorize";

  private static final Logger log = LoggerFactory.getLogger(AdmissionEndpoints.class);
  private final Map<String, Function<byte[], byte[]>> handlers;

  private AdmissionEndpoints(Map<String, Function<byte[], byte[]>> handlers) {
    this.handlers = Map.copyOf(handlers);
  }

  /** Returns a builder; at least one webhook is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The paths served, for the host to mount. */
  public Set<String> paths() {
    return handlers.keySet();
  }

  /** Answers one HTTP request; never throws for a hostile body. */
  public Reply handle(String method, String path, byte[] body) {
    Function<byte[], byte[]> h = handlers.get(requireNonNull(path, "path"));
    if (h == null) {
      return Reply.error(404, "not_found", "no webhook at this path");
    }
    if (!"POST".equals(method)) {
      return Reply.error(405, "method_not_allowed", "webhooks take POST");
    }
    try {
      return new Reply(200, h.apply(requireNonNull(body, "body")));
    } catch (MalformedAdmissionReviewException e) {
      log.warn("refusing a malformed review at {}: {}", path, e.getMessage());
      return Reply.error(400, "invalid_review", e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "AdmissionEndpoints" + handlers.keySet();
  }

  /** An HTTP answer: status, {@code application/json} body. */
  public static final class Reply {
    private final int status;
    private final byte[] body;

    private Reply(int status, byte[] body) {
      this.status = status;
      this.body = body;
    }

    static Reply error(int status, String code, String message) {
      String json = "{\"error\":{\"code\":\"" + code + "\",\"message\":"
          + AdmissionReview.jsonString(message) + "}}";
      return new Reply(status, json.getBytes(StandardCharsets.UTF_8));
    }

    /** The HTTP status. */
    public int status() {
      return status;
    }

    /** The media type of the body, always {@code application/json}. */
    public String contentType() {
      return "application/json";
    }

    /** A copy of the body. */
    public byte[] body() {
      return body.clone();
    }

    @Override
    public String toString() {
      return "Reply{" + status + ", " + body.length + " bytes}";
    }
  }

  /** Builds {@link AdmissionEndpoints}. */
  public static final class Builder {
    private final Map<String, Function<byte[], byte[]>> handlers = new LinkedHashMap<>();

    private Builder() {}

    /** Serves the exec admission webhook at {@code /admission/exec}. */
    public Builder exec(ExecAdmission exec) {
      return put(EXEC_PATH, requireNonNull(exec, "exec")::handle);
    }

    /** Serves the RBAC write guardrails at {@code /admission/rbac}. */
    public Builder rbac(RbacWriteAdmission rbac) {
      return put(RBAC_PATH, requireNonNull(rbac, "rbac")::handle);
    }

    /** Serves the authorization webhook at {@code /authorize}. */
    public Builder authorizer(RevocationAuthorizer authorizer) {
      return put(AUTHORIZE_PATH, requireNonNull(authorizer, "authorizer")::handle);
    }

    private Builder put(String path, Function<byte[], byte[]> h) {
      if (handlers.putIfAbsent(path, h) != null) {
        throw new IllegalStateException(path + " was already set");
      }
      return this;
    }

    /**
     * Returns the endpoints.
     *
     * @throws IllegalStateException if no webhook was given
     */
    public AdmissionEndpoints build() {
      if (handlers.isEmpty()) {
        throw new IllegalStateException("no webhook to serve: give exec, rbac or authorizer");
      }
      return new AdmissionEndpoints(handlers);
    }
  }
}
