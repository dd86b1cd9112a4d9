package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.AccessDeniedException;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.ConcurrentUpdateException;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.InvalidTransitionException;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.KubeJitException;
import dev.kubejit.api.NotFoundException;
import dev.kubejit.api.ProvisionerUnavailableException;
import dev.kubejit.api.ProvisioningException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's JSON API ({@code /api/v1}, {@code /healthz}, {@code /readyz}, {@code /metrics}) as
 * one framework-neutral function from {@link HttpCall} to {@link HttpReply}, so that a platform
 * can mount it in its own HTTP server; {@link KubeJitServer} is the stand-alone host.
 *
 * <p>Every refusal is {@code {"error":{"code","message"}}} with a stable code (see {@code
 * docs/server.md} and the OpenAPI document at {@code /api/v1/openapi.json}). Bodies are at most
 * {@link #MAX_BODY_BYTES}, one JSON object, without unknown fields; a field that would carry an
 * identity is an unknown field, because the identity comes only from the {@link Authenticator}. A
 * body that contains a private key is refused and never logged.
 *
 * <p>Visibility: a caller sees their own requests and grants, the requests whose approver groups
 * they are in (whatever the state), and, in the broker's admin groups, everything. A request the
 * caller may not see answers 404, as if it did not exist. Approving and denying are decided by the
 * broker alone, so that a caller outside the approver groups gets 403 {@code approval_refused}
 * with the reason.
 *
 * <p>Thread-safe; immutable once built.
 */
public final class BrokerHttpApi {
  /** The largest request body accepted (64 KiB); a longer one is answered with 413. */
  public static final int MAX_BODY_BYTES = 64 * 1024;

  private static final Logger log = LoggerFactory.getLogger(BrokerHttpApi.class);
  private static final String JSON = "application/json";

  private final JitBroker broker;
  private final Authenticator authenticator;
  private final ImmutableMap<String, ClusterInfo> clusters;
  private final ImmutableMap<String, String> loginConfig;
  private final ImmutableMap<String, Supplier<Optional<String>>> readiness;
  private final ApiMetrics metrics;
  private final ImmutableList<Route> routes;
  private final byte[] openApi;

  private BrokerHttpApi(Builder b) {
    this.broker = b.broker;
    this.authenticator = b.authenticator;
    this.clusters = ImmutableMap.copyOf(b.clusters);
    this.loginConfig = ImmutableMap.copyOf(b.loginConfig);
    this.readiness = ImmutableMap.copyOf(b.readiness);
    this.metrics = b.metrics == null ? ApiMetrics.none() : b.metrics;
    this.openApi = loadOpenApi();
    this.routes = ImmutableList.of(
        Route.open("GET", "/healthz", (c, p) -> ok(obj().put("status", "ok"))),
        Route.open("GET", "/readyz", (c, p) -> ready()),
        Route.open("GET", "/metrics", (c, p) -> new HttpReply(200,
            Map.of("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), metrics.scrape().getBytes(StandardCharsets.UTF_8))),
        Route.open("GET", "/api/v1/openapi.json", (c, p) -> new HttpReply(200, Map.of("Content-Type", JSON), openApi)),
        Route.open("GET", "/api/v1/login-config", (c, p) -> ok(loginConfig())),
        Route.auth("GET", "/api/v1/whoami", this::whoami),
        Route.auth("GET", "/api/v1/clusters", this::clusters),
        Route.auth("POST", "/api/v1/requests", this::submit),
        Route.auth("GET", "/api/v1/requests", this::listRequests),
        Route.auth("GET", "/api/v1/requests/{id}", this::getRequest),
        Route.auth("POST", "/api/v1/requests/{id}/approve", this::approve),
        Route.auth("POST", "/api/v1/requests/{id}/deny", this::deny),
        Route.auth("POST", "/api/v1/requests/{id}/activate", this::activate),
        Route.auth("POST", "/api/v1/requests/{id}/revoke", this::revoke),
        Route.auth("GET", "/api/v1/grants", this::listGrants),
        Route.auth("POST", "/api/v1/grants/{grantId}/credentials", this::reissue));
  }

  /** Returns a builder; the broker and the authenticator are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Answers one call. Never throws for anything the caller sent; an unexpected failure is a 500
   * {@code internal} without detail (the detail is logged under an error id).
   */
  public HttpReply handle(HttpCall call) {
    requireNonNull(call, "call");
    try {
      Match m = match(call.method(), call.path());
      if (call.bodyTooLarge()) {
        throw new ApiException(413, "payload_too_large", "the body is larger than " + MAX_BODY_BYTES + " bytes");
      }
      Identity id = null;
      if (m.route.authenticated) {
        try {
          id = requireNonNull(authenticator.authenticate(call.presented()), "authenticator returned null");
        } catch (AuthenticationException e) {
          metrics.authenticationFailed();
          throw new ApiException(401, "unauthenticated", e.getMessage());
        }
      }
      Caller caller = new Caller(id, call);
      if (call.method().equals("POST")) {
        checkContentType(call);
      } else if (call.bodyUnsafe().length > 0) {
        throw ApiException.invalid(call.method() + " takes no body");
      }
      return m.route.handler.handle(caller, m.params);
    } catch (ApiException e) {
      return error(e.status(), e.code(), e.getMessage());
    } catch (RuntimeException e) {
      return mapDomain(e);
    }
  }

  private static void checkContentType(HttpCall call) {
    if (call.bodyUnsafe().length > 0 && Json.looksLikePrivateKey(new String(call.bodyUnsafe(), StandardCharsets.UTF_8))) {
      throw new ApiException(400, "private_key_refused", "the body contains a private key; send only a CSR or a "
          + "public key: a private key never leaves the engineer's machine");
    }
    if (call.bodyUnsafe().length == 0) {
      return;
    }
    String ct = call.presented().header("Content-Type").orElse("");
    String base = ct.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    if (!base.equals(JSON)) {
      throw new ApiException(415, "unsupported_media_type", "expected Content-Type: application/json"
          + (ct.isEmpty() ? "; none was sent" : ", found " + SafeNames.clip(base)));
    }
    String params = ct.contains(";") ? ct.substring(ct.indexOf(';') + 1).strip().toLowerCase(Locale.ROOT) : "";
    if (!params.isEmpty() && !params.replace(" ", "").equals("charset=utf-8")) {
      throw new ApiException(415, "unsupported_media_type", "expected UTF-8 JSON (charset=utf-8 or no charset)");
    }
  }

  private HttpReply mapDomain(RuntimeException e) {
    if (e instanceof NotFoundException) {
      return error(404, "not_found", e.getMessage());
    }
    if (e instanceof ApprovalRefusedException) {
      return error(403, "approval_refused", e.getMessage());
    }
    if (e instanceof AccessDeniedException) {
      return error(403, "forbidden", e.getMessage());
    }
    if (e instanceof InvalidTransitionException || e instanceof ConcurrentUpdateException) {
      return error(409, "conflict", e.getMessage());
    }
    if (e instanceof AuditException) {
      log.error("audit sink unavailable: {}", e.getMessage());
      return error(503, "audit_unavailable", "the audit log is unavailable, so nothing was done; try again later");
    }
    if (e instanceof ProvisionerUnavailableException) {
      // The API server (or identity provider) is down: nothing was granted, the same call may work
      // later. The detail (addresses, HTTP reasons) goes only to the log.
      String errorId = UUID.randomUUID().toString();
      log.warn("provisioner unavailable {}: {}", errorId, e.getMessage());
      return error(503, "provisioning_unavailable", "the cluster could not be reached to provision or remove access,"
          + " so nothing was granted; try again later (error " + errorId + ")");
    }
    if (e instanceof ProvisioningException) {
      if (e instanceof dev.kubejit.credentials.CredentialException) {
        return error(400, "invalid_request", "the credential could not be issued: " + e.getMessage());
      }
      log.warn("provisioning failed: {}", e.getMessage());
      return error(502, "provisioning_failed", e.getMessage());
    }
    if (e instanceof IllegalArgumentException) {
      return error(400, "invalid_request", e.getMessage());
    }
    if (e instanceof KubeJitException) {
      // What is left of the domain exceptions: the request store failed (down, locked, unreadable).
      // The detail (paths, SQL state) goes to the log, not to the caller.
      String errorId = UUID.randomUUID().toString();
      log.error("request store failed {}: {}", errorId, e.toString());
      return error(503, "store_unavailable", "the request store is unavailable, so nothing was done; try again later"
          + " (error " + errorId + ")");
    }
    String errorId = UUID.randomUUID().toString();
    log.error("internal error {}", errorId, e);
    return error(500, "internal", "internal error " + errorId);
  }

  // ---------------------------------------------------------------- routing

  /** The routes this API answers, method and path template (for the host and the OpenAPI check). */
  List<Map.Entry<String, String>> routeTable() {
    List<Map.Entry<String, String>> out = new ArrayList<>();
    for (Route r : routes) {
      out.add(Map.entry(r.method, r.template));
    }
    return out;
  }

  private Match match(String method, String path) {
    List<String> allowed = new ArrayList<>();
    for (Route r : routes) {
      Map<String, String> params = r.match(path);
      if (params != null) {
        if (r.method.equals(method)) {
          return new Match(r, params);
        }
        allowed.add(r.method);
      }
    }
    if (!allowed.isEmpty()) {
      throw new ApiException(405, "method_not_allowed", method + " is not allowed on " + SafeNames.clip(path)
          + "; allowed: " + String.join(", ", allowed));
    }
    throw ApiException.notFound("no such endpoint: " + SafeNames.clip(path) + " (see /api/v1/openapi.json)");
  }

  // ---------------------------------------------------------------- handlers

  private HttpReply whoami(Caller c, Map<String, String> p) {
    ObjectNode o = Json.identity(c.id);
    o.put("source", c.id.source());
    return ok(o);
  }

  private HttpReply clusters(Caller c, Map<String, String> p) {
    ObjectNode o = obj();
    ArrayNode items = o.putArray("items");
    clusters.forEach((name, info) -> items.addObject().put("name", name).put("server", info.server)
        .put("certificateAuthorityData", info.caData));
    return ok(o);
  }

  private ObjectNode loginConfig() {
    ObjectNode o = obj();
    loginConfig.forEach(o::put);
    return o;
  }

  private HttpReply ready() {
    ObjectNode o = obj();
    ObjectNode checks = o.putObject("checks");
    boolean ok = true;
    for (Map.Entry<String, Supplier<Optional<String>>> e : readiness.entrySet()) {
      Optional<String> problem;
      try {
        problem = e.getValue().get();
      } catch (RuntimeException ex) {
        problem = Optional.of(ex.getClass().getSimpleName());
      }
      checks.put(e.getKey(), problem.orElse("ok"));
      ok &= problem.isEmpty();
    }
    o.put("status", ok ? "ok" : "unavailable");
    return new HttpReply(ok ? 200 : 503, Map.of("Content-Type", JSON), Json.write(o));
  }

  private static final Set<String> SUBMIT_FIELDS =
      Set.of("role", "action", "cluster", "namespace", "pod", "duration", "ticket", "reason");

  private HttpReply submit(Caller c, Map<String, String> p) {
    ObjectNode body = Json.readObject(c.call.bodyUnsafe(), SUBMIT_FIELDS);
    String role = Json.requiredText(body, "role");
    Action action;
    try {
      action = Action.of(Json.requiredText(body, "action"));
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid("field \"action\": " + e.getMessage());
    }
    String cluster = Json.optionalText(body, "cluster").orElseGet(this::defaultCluster);
    if (!clusters.isEmpty() && !clusters.containsKey(cluster)) {
      throw ApiException.invalid("unknown cluster \"" + SafeNames.clip(cluster) + "\"; expected one of " + clusters.keySet());
    }
    String namespace = Json.requiredText(body, "namespace");
    Scope scope = Scope.namespace(cluster, namespace);
    Optional<String> pod = Json.optionalText(body, "pod");
    if (pod.isPresent()) {
      scope = scope.withPod(pod.get());
    }
    AccessRequest.Builder rb = AccessRequest.builder().requester(c.id).role(role).action(action).scope(scope);
    Optional<String> duration = Json.optionalText(body, "duration");
    if (duration.isPresent()) {
      try {
        rb.duration(Duration.parse(duration.get()));
      } catch (DateTimeParseException e) {
        throw ApiException.invalid("field \"duration\" must be an ISO-8601 duration such as PT30M, found \""
            + SafeNames.clip(duration.get()) + "\"");
      }
    }
    Json.optionalText(body, "ticket").ifPresent(rb::ticket);
    Json.optionalText(body, "reason").ifPresent(rb::justification);
    RequestRecord rec = broker.submit(rb.build());
    metrics.submitted(rec);
    if (rec.state() == RequestState.DENIED) {
      throw new ApiException(403, "policy_denied", "denied by policy: " + rec.decision().reason() + " (request "
          + rec.id().value() + " is recorded)");
    }
    return new HttpReply(201, Map.of("Content-Type", JSON, "Location", "/api/v1/requests/" + rec.id().value()),
        Json.write(Json.request(rec)));
  }

  private String defaultCluster() {
    if (clusters.size() == 1) {
      return clusters.keySet().iterator().next();
    }
    throw ApiException.invalid("field \"cluster\" is required" + (clusters.isEmpty() ? "" : "; expected one of " + clusters.keySet()));
  }

  private HttpReply listRequests(Caller c, Map<String, String> p) {
    Map<String, String> q = query(c.call.rawQuery(), Set.of("state", "requester", "role"));
    Set<RequestState> states = EnumSet.noneOf(RequestState.class);
    if (q.containsKey("state")) {
      for (String s : q.get("state").split(",")) {
        states.add(state(s));
      }
    }
    ObjectNode o = obj();
    ArrayNode items = o.putArray("items");
    for (RequestRecord r : broker.list(states)) {
      if (!visible(r, c.id)) {
        continue;
      }
      if (q.containsKey("requester") && !r.request().requester().user().equals(q.get("requester"))) {
        continue;
      }
      if (q.containsKey("role") && !r.request().role().equals(q.get("role"))) {
        continue;
      }
      items.add(Json.request(r));
    }
    return ok(o);
  }

  private static RequestState state(String s) {
    String n = s.strip().toUpperCase(Locale.ROOT);
    if (n.equals("PENDING")) {
      return RequestState.PENDING_APPROVAL;
    }
    try {
      return RequestState.valueOf(n);
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid("unknown state \"" + SafeNames.clip(s) + "\"; expected one of PENDING, "
          + EnumSet.allOf(RequestState.class));
    }
  }

  private HttpReply getRequest(Caller c, Map<String, String> p) {
    return ok(Json.request(visibleRequest(c, p.get("id"))));
  }

  private HttpReply approve(Caller c, Map<String, String> p) {
    ObjectNode body = Json.readObject(c.call.bodyUnsafe(), Set.of("comment"));
    RequestRecord updated = broker.approve(requestId(p.get("id")), c.id, Json.optionalText(body, "comment").orElse(null));
    metrics.voted(updated);
    return ok(Json.request(updated));
  }

  private HttpReply deny(Caller c, Map<String, String> p) {
    ObjectNode body = Json.readObject(c.call.bodyUnsafe(), Set.of("comment"));
    String comment = Json.requiredText(body, "comment");
    RequestRecord updated = broker.deny(requestId(p.get("id")), c.id, comment);
    metrics.voted(updated);
    return ok(Json.request(updated));
  }

  private static final Set<String> CREDENTIAL_FIELDS = Set.of("csr", "sshPublicKey");

  private static CredentialSpec[] specs(ObjectNode body) {
    List<CredentialSpec> specs = new ArrayList<>();
    Json.optionalText(body, "csr").ifPresent(csr -> specs.add(CredentialSpec.x509FromCsr(csr)));
    Json.optionalText(body, "sshPublicKey").ifPresent(k -> specs.add(CredentialSpec.sshUserCertificate(k, Map.of())));
    if (specs.isEmpty()) {
      throw ApiException.invalid("expected at least one of \"csr\" (PKCS#10 PEM) and \"sshPublicKey\" (OpenSSH public key line)");
    }
    return specs.toArray(new CredentialSpec[0]);
  }

  private HttpReply activate(Caller c, Map<String, String> p) {
    ObjectNode body = Json.readObject(c.call.bodyUnsafe(), CREDENTIAL_FIELDS);
    CredentialSpec[] specs = specs(body);
    RequestRecord rec = visibleRequest(c, p.get("id"));
    Activation a = broker.activate(rec.id(), c.id, specs);
    metrics.activated(a);
    ObjectNode o = obj();
    o.set("request", Json.request(a.record()));
    o.set("grant", Json.grant(a.grant()));
    ArrayNode creds = o.putArray("credentials");
    a.credentials().forEach(cr -> creds.add(Json.credential(cr)));
    return ok(o);
  }

  private HttpReply revoke(Caller c, Map<String, String> p) {
    ObjectNode body = Json.readObject(c.call.bodyUnsafe(), Set.of("reason"));
    RequestRecord rec = visibleRequest(c, p.get("id"));
    RequestRecord updated = broker.revoke(rec.id(), c.id, Json.optionalText(body, "reason").orElse(null));
    metrics.ended(updated);
    if (updated.state() == RequestState.REVOKING) {
      // Recorded and in force (the grant authorises nothing), but its RBAC is not removed yet: the
      // broker's sweep retries until it is, then the request reads REVOKED.
      return new HttpReply(202, Map.of("Content-Type", JSON), Json.write(Json.request(updated)));
    }
    return ok(Json.request(updated));
  }

  private HttpReply listGrants(Caller c, Map<String, String> p) {
    Map<String, String> q = query(c.call.rawQuery(), Set.of("active"));
    boolean activeOnly;
    String active = q.getOrDefault("active", "false");
    if (active.equals("true") || active.equals("false")) {
      activeOnly = active.equals("true");
    } else {
      throw ApiException.invalid("query parameter active must be true or false");
    }
    Instant now = broker.clock().instant();
    boolean admin = isAdmin(c.id);
    ObjectNode o = obj();
    ArrayNode items = o.putArray("items");
    Set<RequestState> states = activeOnly ? EnumSet.of(RequestState.ACTIVE)
        : EnumSet.of(RequestState.ACTIVE, RequestState.REVOKING, RequestState.EXPIRED, RequestState.REVOKED);
    for (RequestRecord r : broker.list(states)) {
      Optional<Grant> g = r.grant();
      if (g.isEmpty() || !(admin || g.get().holder().samePerson(c.id))) {
        continue;
      }
      if (activeOnly && !g.get().isActiveAt(now)) {
        continue;
      }
      items.add(Json.grant(g.get()));
    }
    return ok(o);
  }

  private HttpReply reissue(Caller c, Map<String, String> p) {
    ObjectNode body = Json.readObject(c.call.bodyUnsafe(), CREDENTIAL_FIELDS);
    CredentialSpec[] specs = specs(body);
    GrantId gid;
    try {
      gid = GrantId.parse(p.get("grantId"));
    } catch (IllegalArgumentException e) {
      throw ApiException.notFound("no grant " + SafeNames.clip(p.get("grantId")));
    }
    RequestRecord rec = broker.findByGrant(gid)
        .filter(r -> r.grant().map(g -> g.holder().samePerson(c.id)).orElse(false))
        .orElseThrow(() -> ApiException.notFound("no grant " + gid.value() + " held by " + c.id.user()));
    Grant grant = rec.grant().orElseThrow();
    Instant now = broker.clock().instant();
    if (rec.state() != RequestState.ACTIVE || !grant.isActiveAt(now)) {
      throw grantEnded(rec, grant);
    }
    List<IssuedCredential> issued;
    try {
      issued = broker.reissue(gid, c.id, specs);
    } catch (InvalidTransitionException e) {
      // it ended between the check above and the broker's own check under its lock
      throw grantEnded(broker.findByGrant(gid).orElse(rec), grant);
    }
    metrics.reissued(issued.size());
    ObjectNode o = obj();
    o.set("grant", Json.grant(grant));
    ArrayNode creds = o.putArray("credentials");
    issued.forEach(cr -> creds.add(Json.credential(cr)));
    return ok(o);
  }

  private static ApiException grantEnded(RequestRecord rec, Grant grant) {
    StringBuilder m = new StringBuilder("grant ").append(grant.id().value());
    if (rec.state() == RequestState.REVOKED || rec.state() == RequestState.REVOKING) {
      m.append(rec.state() == RequestState.REVOKING ? " is being revoked" : " was revoked");
      rec.endedBy().ifPresent(by -> m.append(" by ").append(by.user()));
      rec.endedAt().ifPresent(at -> m.append(" at ").append(at));
      rec.endReason().ifPresent(r -> m.append(": ").append(r));
    } else {
      m.append(" expired at ").append(grant.expiresAt());
    }
    m.append("; ask again with kubejit request --role ").append(grant.role()).append(" --action ")
        .append(grant.action().name());
    grant.scope().namespace().ifPresent(ns -> m.append(" --namespace ").append(ns));
    return new ApiException(409, "grant_ended", m.toString());
  }

  // ---------------------------------------------------------------- visibility

  private boolean isAdmin(Identity id) {
    return id.inAnyGroup(broker.adminGroups());
  }

  private boolean visible(RequestRecord r, Identity id) {
    return r.request().requester().samePerson(id) || isAdmin(id)
        || r.decision().approval().map(a -> id.inAnyGroup(a.approverGroups())).orElse(false);
  }

  private static RequestId requestId(String rawId) {
    try {
      return RequestId.parse(rawId);
    } catch (IllegalArgumentException e) {
      throw ApiException.notFound("no request " + SafeNames.clip(rawId));
    }
  }

  private RequestRecord visibleRequest(Caller c, String rawId) {
    RequestId id = requestId(rawId);
    return broker.find(id).filter(r -> visible(r, c.id))
        .orElseThrow(() -> ApiException.notFound("no request " + id.value() + " visible to " + c.id.user()));
  }

  // ---------------------------------------------------------------- helpers

  private static Map<String, String> query(String raw, Set<String> allowed) {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw.isEmpty()) {
      return out;
    }
    for (String part : raw.split("&")) {
      if (part.isEmpty()) {
        continue;
      }
      int eq = part.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
      if (!allowed.contains(k)) {
        throw new ApiException(400, "unknown_field", "unknown query parameter \"" + SafeNames.clip(k) + "\"; expected only "
            + new java.util.TreeSet<>(allowed));
      }
      if (out.put(k, v) != null) {
        throw ApiException.invalid("query parameter \"" + k + "\" given twice");
      }
    }
    return out;
  }

  private static ObjectNode obj() {
    return Json.MAPPER.createObjectNode();
  }

  private static HttpReply ok(ObjectNode body) {
    return new HttpReply(200, Map.of("Content-Type", JSON), Json.write(body));
  }

  private static HttpReply error(int status, String code, String message) {
    return new HttpReply(status, Map.of("Content-Type", JSON), Json.write(Json.error(code, message)));
  }

  private static byte[] loadOpenApi() {
    try (InputStream in = BrokerHttpApi.class.getResourceAsStream("openapi.json")) {
      if (in == null) {
        throw new IllegalStateException("openapi.json is missing from the jit-server jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final class Caller {
    final Identity id;
    final HttpCall call;

    Caller(Identity id, HttpCall call) {
      this.id = id;
      this.call = call;
    }
  }

  @FunctionalInterface
  private interface Handler {
    HttpReply handle(Caller caller, Map<String, String> params);
  }

  private static final class Match {
    final Route route;
    final Map<String, String> params;

    Match(Route route, Map<String, String> params) {
      this.route = route;
      this.params = params;
    }
  }

  private static final class Route {
    final String method;
    final String template;
    final String[] parts;
    final boolean authenticated;
    final Handler handler;

    private Route(String method, String template, boolean authenticated, Handler handler) {
      this.method = method;
      this.template = template;
      this.parts = template.substring(1).split("/");
      this.authenticated = authenticated;
      this.handler = handler;
    }

    static Route open(String method, String template, Handler h) {
      return new Route(method, template, false, h);
    }

    static Route auth(String method, String template, Handler h) {
      return new Route(method, template, true, h);
    }

    Map<String, String> match(String path) {
      if (!path.startsWith("/")) {
        return null;
      }
      String[] got = path.substring(1).split("/", -1);
      if (got.length != parts.length) {
        return null;
      }
      Map<String, String> params = new LinkedHashMap<>();
      for (int i = 0; i < parts.length; i++) {
        if (parts[i].startsWith("{")) {
          if (got[i].isEmpty()) {
            return null;
          }
          params.put(parts[i].substring(1, parts[i].length() - 1), got[i]);
        } else if (!parts[i].equals(got[i])) {
          return null;
        }
      }
      return params;
    }
  }

  /** What {@code GET /api/v1/clusters} tells a client about one cluster. */
  private static final class ClusterInfo {
    final String server;
    final String caData;

    ClusterInfo(String server, String caData) {
      this.server = server;
      this.caData = caData;
    }
  }

  /** Builds a {@link BrokerHttpApi}. */
  public static final class Builder {
    private JitBroker broker;
    private Authenticator authenticator;
    private final Map<String, ClusterInfo> clusters = new LinkedHashMap<>();
    private final Map<String, String> loginConfig = new LinkedHashMap<>();
    private final Map<String, Supplier<Optional<String>>> readiness = new LinkedHashMap<>();
    private ApiMetrics metrics;

    private Builder() {}

    /** The broker that does the work (required). */
    public Builder broker(JitBroker broker) {
      this.broker = requireNonNull(broker, "broker");
      return this;
    }

    /** Who the caller is (required). */
    public Builder authenticator(Authenticator authenticator) {
      this.authenticator = requireNonNull(authenticator, "authenticator");
      return this;
    }

    /**
     * Announces a cluster to clients ({@code GET /api/v1/clusters}); with clusters announced, a
     * request must name one of them (or omit the cluster when there is exactly one).
     *
     * @param server the API server URL
     * @param certificateAuthorityData the base64 of the API server's CA bundle (PEM), as in a kubeconfig
     */
    public Builder cluster(String name, String server, String certificateAuthorityData) {
      clusters.put(requireNonNull(name, "name"), new ClusterInfo(requireNonNull(server, "server"),
          requireNonNull(certificateAuthorityData, "certificateAuthorityData")));
      return this;
    }

    /**
     * What {@code GET /api/v1/login-config} answers (unauthenticated), e.g. {@code mode=oidc},
     * {@code issuer}, {@code clientId}; never put a secret here.
     */
    public Builder loginConfig(Map<String, String> config) {
      loginConfig.clear();
      loginConfig.putAll(config);
      return this;
    }

    /**
     * Adds a readiness check for {@code GET /readyz}: it returns empty when ready, otherwise a
     * short reason that is safe to show.
     */
    public Builder readinessCheck(String name, Supplier<Optional<String>> check) {
      readiness.put(requireNonNull(name, "name"), requireNonNull(check, "check"));
      return this;
    }

    Builder metrics(ApiMetrics metrics) {
      this.metrics = metrics;
      return this;
    }

    /** Returns the API. */
    public BrokerHttpApi build() {
      if (broker == null || authenticator == null) {
        throw new IllegalStateException("a broker and an authenticator are required");
      }
      return new BrokerHttpApi(this);
    }
  }
}
