package dev.kubejit.console;

import static dev.kubejit.console.Html.esc;
import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.kubejit.api.AccessDeniedException;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Approval;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.InvalidTransitionException;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KubeJIT web console: server-rendered pages for approvers and auditors on top of a {@link
 * JitBroker}, signed in with OpenID Connect (authorization code with PKCE). It is a plain request
 * to reply function ({@link #handle}); the host (e.g. {@code kubejit serve}) mounts it at {@code /}.
 *
 * <p>Pages: {@code /} needs my approval; {@code /mine} my requests and grants; {@code
 * /requests/{id}} one request with its grant's audit timeline joined with the API server's calls;
 * {@code /who} who used either path (JIT or break-glass grants) from the audit logs.
 *
 * <p>Security: the session cookie ({@value #SESSION_COOKIE}) is {@code HttpOnly; Secure;
 * SameSite=Strict}, random, kept server-side and ends at the earlier of the session TTL and the ID
 * token's {@code exp}; sign-out ends it on the server. Every state-changing form carries the
 * session's CSRF token, compared in constant time; a POST without it changes nothing. Every page
 * is sent with a Content-Security-Policy that allows only this origin's script and style files (no
 * inline script), and every user-supplied text is escaped. Decisions go through the broker, which
 * refuses self-approval whatever the page showed.
 */
public final class WebConsole {
  /** The session cookie's name ({@code __Host-}: Secure, path {@code /}, no domain). */
  public static final String SESSION_COOKIE = "__Host-kubejit-session";
  static final String LOGIN_COOKIE = "__Secure-kubejit-login";
  static final String CALLBACK_PATH = "/oauth/callback";
  static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
      + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  private static final Logger log = LoggerFactory.getLogger(WebConsole.class);
  private static final Pattern REQUEST_PAGE = Pattern.compile("/requests/([a-z0-9]{1,64})");
  private static final Pattern RECORDING = Pattern.compile("/requests/([a-z0-9]{1,64})/recordings/([A-Za-z0-9_-]{1,80}\\.cast)");
  private static final Pattern REQUEST_ACTION = Pattern.compile("/requests/([a-z0-9]{1,64})/(approve|deny|revoke)");
  private static final int MAX_COMMENT = 2048;

  private final JitBroker broker;
  private final OidcClient oidc;
  private final IdTokenVerifier verifier;
  private final Sessions sessions;
  private final Clock clock;
  private final URI baseUrl;
  private final AuditView audit;
  private final Function<String, List<String>> commandsForRole;
  private final String sshCommand;
  private final Set<String> auditorGroups;
  private final Path gatewayRecordings;
  private final Map<String, byte[]> assets = new LinkedHashMap<>();

  private WebConsole(Builder b) {
    this.broker = b.broker;
    this.clock = b.clock;
    this.baseUrl = b.baseUrl;
    this.oidc = new OidcClient(b.issuer, b.clientId, b.clientSecret, b.http, URI.create(stripSlash(b.baseUrl) + CALLBACK_PATH));
    this.verifier = b.verifier;
    this.sessions = new Sessions(b.clock, b.sessionTtl);
    this.audit = new AuditView(b.auditLog, b.kubeAuditLogs);
    this.commandsForRole = b.commandsForRole;
    this.sshCommand = b.sshCommand;
    this.auditorGroups = Set.copyOf(b.auditorGroups);
    this.gatewayRecordings = b.gatewayRecordings;
    for (String name : List.of("console.css", "console.js")) {
      try (InputStream in = WebConsole.class.getResourceAsStream("static/" + name)) {
        assets.put("/static/" + name, requireNonNull(in, name).readAllBytes());
      } catch (IOException e) {
        throw new IllegalStateException("cannot read the console's " + name, e);
      }
    }
  }

  /** Starts a console; {@link Builder#build()} says what is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The page of a request, under the configured base URL (what notifications link to). */
  public URI requestPage(RequestId id) {
    return URI.create(stripSlash(baseUrl) + "/requests/" + requireNonNull(id, "id").value());
  }

  /** The redirect URI to register with the issuer for this console's client. */
  public URI redirectUri() {
    return oidc.redirectUri();
  }

  /** Answers one request; never throws for bad input (it is answered with a 4xx page). */
  public ConsoleReply handle(ConsoleRequest req) {
    requireNonNull(req, "req");
    try {
      return route(req);
    } catch (Refusal r) {
      return r.reply;
    } catch (RuntimeException e) {
      log.warn("console: {} {} failed: {}", req.method(), req.path(), e.toString());
      return page(500, "Something went wrong", null, "<p>The console could not answer: " + esc(e.getMessage()) + "</p>");
    }
  }

  private ConsoleReply route(ConsoleRequest req) {
    String path = req.path();
    String m = req.method();
    if (m.equals("GET") && assets.containsKey(path)) {
      String type = path.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
      Map<String, String> h = securityHeaders(type);
      h.put("Cache-Control", "public, max-age=300");
      return new ConsoleReply(200, h, null, assets.get(path));
    }
    if (m.equals("GET") && path.equals("/login")) {
      return login(Form.parse(req.rawQuery()).get("next"));
    }
    if (m.equals("GET") && path.equals(CALLBACK_PATH)) {
      return callback(req);
    }
    if (m.equals("POST") && path.equals("/logout")) {
      return logout(req);
    }
    if (!m.equals("GET") && !m.equals("POST")) {
      return page(405, "Method not allowed", null, "<p>Use the links and buttons of the console.</p>");
    }
    Optional<Sessions.Session> session = sessions.find(cookie(req, SESSION_COOKIE));
    if (session.isEmpty()) {
      if (m.equals("GET")) {
        return redirect("/login?next=" + java.net.URLEncoder.encode(localPath(req), StandardCharsets.UTF_8), null);
      }
      return page(403, "Not signed in", null, "<p>Your session has ended. <a href=\"/login\">Sign in</a> again.</p>");
    }
    Sessions.Session s = session.get();
    if (m.equals("POST")) {
      Form form = Form.parse(body(req));
      if (!Sessions.csrfMatches(s, form.get("csrf"))) {
        return page(403, "Refused", s, "<p role=\"alert\">The form did not carry this session's CSRF token; nothing was"
            + " changed. Go back, reload the page and try again.</p>");
      }
      Matcher a = REQUEST_ACTION.matcher(path);
      if (a.matches()) {
        return decide(s, a.group(1), a.group(2), form);
      }
      return page(404, "Not found", s, "<p>No such page.</p>");
    }
    Form q = Form.parse(req.rawQuery());
    switch (path) {
      case "/":
        return approvals(s, q.get("done"));
      case "/mine":
        return mine(s);
      case "/who":
        return who(s, q);
      default:
        Matcher r = REQUEST_PAGE.matcher(path);
        if (r.matches()) {
          return request(s, r.group(1), q.get("done"));
        }
        Matcher rec = RECORDING.matcher(path);
        if (rec.matches()) {
          return recording(s, rec.group(1), rec.group(2));
        }
        return page(404, "Not found", s, "<p>No such page.</p>");
    }
  }

  // ------------------------------------------------------------------------------- sign-in

  private ConsoleReply login(String next) {
    Sessions.Pending p = sessions.begin(safeNext(next));
    URI to = oidc.authorizationUrl(p.state(), p.nonce(), p.codeVerifier());
    String cookie = LOGIN_COOKIE + "=" + p.state() + "; Path=" + CALLBACK_PATH + "; Max-Age="
        + Sessions.LOGIN_TTL.toSeconds() + "; HttpOnly; Secure; SameSite=Lax";
    return redirect(to.toString(), cookie);
  }

  private ConsoleReply callback(ConsoleRequest req) {
    Form q = Form.parse(req.rawQuery());
    String clearLogin = LOGIN_COOKIE + "=; Path=" + CALLBACK_PATH + "; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
    if (q.get("error") != null) {
      return page(401, "Sign-in failed", null, "<p>The identity provider answered " + esc(OidcClient.printable(q.get("error")))
          + ". <a href=\"/login\">Try again</a>.</p>", clearLogin);
    }
    String state = q.get("state");
    String code = q.get("code");
    String bound = cookie(req, LOGIN_COOKIE);
    // The state must come back to the browser that started the sign-in (login CSRF).
    if (state == null || code == null || bound == null || !java.security.MessageDigest.isEqual(
        state.getBytes(StandardCharsets.UTF_8), bound.getBytes(StandardCharsets.UTF_8))) {
      return page(400, "Sign-in failed", null, "<p>This sign-in was not started in this browser or is incomplete."
          + " <a href=\"/login\">Sign in</a>.</p>", clearLogin);
    }
    Optional<Sessions.Pending> pending = sessions.finish(state);
    if (pending.isEmpty()) {
      return page(400, "Sign-in failed", null, "<p>This sign-in has expired or was already used."
          + " <a href=\"/login\">Sign in</a> again.</p>", clearLogin);
    }
    Sessions.Pending p = pending.get();
    VerifiedIdToken token;
    try {
      token = verifier.verify(oidc.exchange(code, p.codeVerifier()));
    } catch (RuntimeException e) {
      log.info("console sign-in refused: {}", e.getMessage());
      return page(401, "Sign-in failed", null, "<p>" + esc(e.getMessage()) + "</p><p><a href=\"/login\">Try again</a>.</p>",
          clearLogin);
    }
    if (!token.nonce().map(n -> java.security.MessageDigest.isEqual(n.getBytes(StandardCharsets.UTF_8),
        p.nonce().getBytes(StandardCharsets.UTF_8))).orElse(false)) {
      return page(401, "Sign-in failed", null, "<p>The ID token does not carry this sign-in's nonce.</p>",
          clearLogin);
    }
    Sessions.Opened opened = sessions.open(token.identity(), token.expiresAt());
    long maxAge = Math.max(1, Duration.between(clock.instant(), opened.session().expiresAt()).getSeconds());
    String sessionCookie = SESSION_COOKIE + "=" + opened.cookie() + "; Path=/; Max-Age=" + maxAge
        + "; HttpOnly; Secure; SameSite=Strict";
    log.info("console: {} signed in until {}", token.identity().user(), opened.session().expiresAt());
    // A page, not a redirect: the browser arrived from the identity provider (another site), and a
    // SameSite=Strict cookie is only sent on a navigation this origin starts.
    String next = p.next();
    Map<String, String> h = securityHeaders("text/html; charset=utf-8");
    String body = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed in</title>"
        + "<meta http-equiv=\"refresh\" content=\"0;url=" + esc(next) + "\">"
        + "<link rel=\"stylesheet\" href=\"/static/console.css\"></head><body><main><p>Signed in as "
        + esc(token.identity().user()) + ". <a href=\"" + esc(next) + "\">Continue</a></p></main></body></html>";
    // The login cookie is left to expire (Max-Age): its state is spent on the server already.
    return new ConsoleReply(200, h, sessionCookie, body.getBytes(StandardCharsets.UTF_8));
  }

  private ConsoleReply logout(ConsoleRequest req) {
    String c = cookie(req, SESSION_COOKIE);
    Optional<Sessions.Session> s = sessions.find(c);
    String clear = SESSION_COOKIE + "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict";
    if (s.isPresent()) {
      if (!Sessions.csrfMatches(s.get(), Form.parse(body(req)).get("csrf"))) {
        return page(403, "Refused", s.get(), "<p role=\"alert\">The sign-out form did not carry this session's CSRF"
            + " token; you are still signed in.</p>");
      }
      sessions.end(c);
      log.info("console: {} signed out", s.get().identity().user());
    }
    return page(200, "Signed out", null, "<p>You are signed out; the session has ended on the server."
        + " <a href=\"/login\">Sign in</a> again.</p>", clear);
  }

  // ----------------------------------------------------------------------------------- pages

  private ConsoleReply approvals(Sessions.Session s, String done) {
    Identity me = s.identity();
    List<RequestRecord> pending = broker.pendingFor(me);
    pending.sort(Comparator.comparing(RequestRecord::createdAt));
    StringBuilder b = new StringBuilder();
    b.append(doneNote(done));
    if (pending.isEmpty()) {
      b.append("<p>Nothing waits for your approval.</p>");
    }
    for (RequestRecord r : pending) {
      b.append("<section class=\"request").append(breakGlass(r) ? " break-glass" : "").append("\" aria-labelledby=\"h-")
          .append(r.id().value()).append("\"><h2 id=\"h-").append(r.id().value()).append("\"><a href=\"/requests/")
          .append(r.id().value()).append("\">").append(esc(r.request().requester().user())).append(" asks for ")
          .append(esc(r.request().role())).append(" / ").append(esc(r.request().action().name())).append("</a></h2>");
      b.append(details(r));
      b.append(voteForms(s, r));
      b.append("</section>");
    }
    return page(200, "Needs my approval", s, b.toString());
  }

  private ConsoleReply mine(Sessions.Session s) {
    Identity me = s.identity();
    List<RequestRecord> mine = new ArrayList<>();
    for (RequestRecord r : broker.list(Set.of())) {
      if (r.request().requester().samePerson(me)) {
        mine.add(r);
      }
    }
    mine.sort(Comparator.comparing(RequestRecord::createdAt).reversed());
    StringBuilder b = new StringBuilder();
    if (mine.isEmpty()) {
      b.append("<p>You have no requests. Ask for access with <code>kubejit request</code>.</p>");
    }
    int shown = 0;
    for (RequestRecord r : mine) {
      if (shown++ == 50) {
        b.append("<p>Only your 50 latest requests are shown.</p>");
        break;
      }
      b.append("<section class=\"request").append(breakGlass(r) ? " break-glass" : "").append("\"><h2><a href=\"/requests/")
          .append(r.id().value()).append("\">").append(esc(r.request().role())).append(" / ")
          .append(esc(r.request().action().name())).append(" in ").append(esc(scope(r.request().scope())))
          .append("</a> <span class=\"state\">").append(r.state().name()).append("</span></h2>");
      b.append(timeLeft(r));
      b.append(grantUse(r));
      b.append(revokeForm(s, r));
      b.append("</section>");
    }
    return page(200, "My requests and grants", s, b.toString());
  }

  private ConsoleReply request(Sessions.Session s, String rawId, String done) {
    RequestRecord r = visible(s, rawId);
    StringBuilder b = new StringBuilder();
    b.append(doneNote(done));
    b.append("<p>Request <code>").append(r.id().value()).append("</code>, state <strong class=\"state\">")
        .append(r.state().name()).append("</strong>. ").append(timeLeft(r)).append("</p>");
    b.append(details(r));
    b.append(voteForms(s, r));
    if (r.state() == RequestState.PENDING_APPROVAL && r.request().requester().samePerson(s.identity())) {
      b.append("<p>You cannot approve your own request; it waits for a member of ")
          .append(esc(String.join(", ", r.decision().approval().map(a -> a.approverGroups()).orElseThrow())))
          .append(".</p>");
    }
    if (r.request().requester().samePerson(s.identity())) {
      b.append(grantUse(r));
    }
    b.append(revokeForm(s, r));
    r.grant().ifPresent(g -> b.append("<h2>Grant ").append(g.id().value()).append(": audit timeline</h2>")
        .append(audit.timeline(r, g)).append(recordings(r, g)));
    return page(200, "Request " + r.id().value(), s, b.toString());
  }

  /** The grant's gateway session recordings (asciicast v2, one file per command), if a directory is configured. */
  private String recordings(RequestRecord r, Grant g) {
    if (gatewayRecordings == null) {
      return "";
    }
    List<Path> files = recordingFiles(g);
    StringBuilder b = new StringBuilder("<h2>Gateway session recordings</h2>");
    if (files.isEmpty()) {
      return b.append("<p>No gateway session was recorded under this grant.</p>").toString();
    }
    b.append("<table><thead><tr><th scope=\"col\">Recording</th><th scope=\"col\">Bytes</th>")
        .append("<th scope=\"col\">SHA-256 (compare with the execution's audit record)</th></tr></thead><tbody>");
    for (Path f : files) {
      String name = f.getFileName().toString();
      String size;
      String sha;
      try {
        byte[] data = java.nio.file.Files.readAllBytes(f);
        size = Integer.toString(data.length);
        sha = com.google.common.hash.Hashing.sha256().hashBytes(data).toString();
      } catch (IOException e) {
        size = "?";
        sha = "unreadable";
      }
      b.append("<tr><td><a href=\"/requests/").append(r.id().value()).append("/recordings/").append(esc(name))
          .append("\">").append(esc(name)).append("</a></td><td>").append(size).append("</td><td><code>").append(sha)
          .append("</code></td></tr>");
    }
    return b.append("</tbody></table><p>Play one with <code>asciinema play FILE</code>.</p>").toString();
  }

  private List<Path> recordingFiles(Grant g) {
    Path dir = gatewayRecordings.resolve(g.id().value());
    List<Path> files = new ArrayList<>();
    if (!java.nio.file.Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return files;
    }
    try (java.util.stream.Stream<Path> list = java.nio.file.Files.list(dir)) {
      list.filter(f -> java.nio.file.Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS))
          .filter(f -> RECORDING_NAME.matcher(f.getFileName().toString()).matches())
          .sorted().forEach(files::add);
    } catch (IOException e) {
      log.warn("cannot list the gateway recordings of grant {}: {}", g.id().value(), e.getClass().getSimpleName());
    }
    return files;
  }

  private static final Pattern RECORDING_NAME = Pattern.compile("[A-Za-z0-9_-]{1,80}\\.cast");

  /** One recording as a download, for whoever may see the request; only files the listing would show. */
  private ConsoleReply recording(Sessions.Session s, String rawId, String name) {
    RequestRecord r = visible(s, rawId);
    Optional<Path> file = r.grant().filter(g -> gatewayRecordings != null)
        .flatMap(g -> recordingFiles(g).stream().filter(f -> f.getFileName().toString().equals(name)).findFirst());
    if (file.isEmpty()) {
      return page(404, "Not found", s, "<p>No such recording.</p>");
    }
    byte[] data;
    try {
      data = java.nio.file.Files.readAllBytes(file.get());
    } catch (IOException e) {
      return page(404, "Not found", s, "<p>The recording cannot be read.</p>");
    }
    Map<String, String> h = securityHeaders("text/plain; charset=utf-8");
    h.put("Content-Disposition", "attachment; filename=\"" + name + "\"");
    return new ConsoleReply(200, h, null, data);
  }

  private ConsoleReply who(Sessions.Session s, Form q) {
    if (!s.identity().inAnyGroup(broker.adminGroups()) && !s.identity().inAnyGroup(auditorGroups)) {
      return page(403, "Who used either path", s, "<p>Only members of the admin or auditor groups ("
          + esc(String.join(", ", com.google.common.collect.Sets.union(broker.adminGroups(), auditorGroups)))
          + ") may query the audit logs.</p>");
    }
    return page(200, "Who used either path", s, audit.whoForm(q) + (q.isEmpty() ? "" : audit.who(q)));
  }

  private ConsoleReply decide(Sessions.Session s, String rawId, String action, Form form) {
    RequestRecord r = visible(s, rawId);
    String comment = form.get("comment");
    if (comment != null) {
      comment = comment.strip();
      if (comment.isEmpty()) {
        comment = null;
      } else if (comment.length() > MAX_COMMENT) {
        return page(400, "Refused", s, "<p role=\"alert\">The comment is longer than " + MAX_COMMENT
            + " characters; nothing was changed.</p>");
      }
    }
    try {
      switch (action) {
        case "approve" -> broker.approve(r.id(), s.identity(), comment);
        case "deny" -> broker.deny(r.id(), s.identity(), comment);
        default -> {
          if (broker.revoke(r.id(), s.identity(), comment).state() == RequestState.REVOKING) {
            log.info("console: {} revoked request {}; its removal is being retried", s.identity().user(), r.id().value());
            return redirect("/requests/" + r.id().value() + "?done=revoking", null);
          }
        }
      }
    } catch (ApprovalRefusedException | AccessDeniedException e) {
      return page(403, "Refused", s, "<p role=\"alert\">" + esc(e.getMessage()) + "; nothing was changed.</p>");
    } catch (InvalidTransitionException e) {
      return page(409, "Refused", s, "<p role=\"alert\">" + esc(e.getMessage()) + "; nothing was changed.</p>");
    } catch (IllegalArgumentException e) {
      return page(400, "Refused", s, "<p role=\"alert\">" + esc(e.getMessage()) + "; nothing was changed.</p>");
    }
    log.info("console: {} {} request {}", s.identity().user(), action, r.id().value());
    String past = action.equals("approve") ? "approved" : action.equals("deny") ? "denied" : "revoked";
    return redirect((action.equals("revoke") ? "/requests/" + r.id().value() : "/") + "?done=" + past, null);
  }

  /** The request if it exists and the signed-in user may see it (requester, approver, admin); else 404. */
  private RequestRecord visible(Sessions.Session s, String rawId) {
    RequestId id;
    try {
      id = RequestId.parse(rawId);
    } catch (IllegalArgumentException e) {
      throw new Refusal(page(404, "Not found", s, "<p>No such request.</p>"));
    }
    Optional<RequestRecord> r = broker.find(id);
    Identity me = s.identity();
    if (r.isEmpty() || !(r.get().request().requester().samePerson(me) || me.inAnyGroup(broker.adminGroups())
        || r.get().decision().approval().map(a -> me.inAnyGroup(a.approverGroups())).orElse(false))) {
      throw new Refusal(page(404, "Not found", s, "<p>No such request, or not one you may see.</p>"));
    }
    return r.get();
  }

  // -------------------------------------------------------------------------------- fragments

  private String details(RequestRecord r) {
    AccessRequest q = r.request();
    Decision d = r.decision();
    StringBuilder b = new StringBuilder();
    if (breakGlass(r)) {
      b.append("<p class=\"break-glass-banner\" role=\"alert\"><strong>BREAK-GLASS</strong> access: it bypasses the"
          + " normal approval path and is reviewed afterwards.</p>");
    }
    b.append("<dl class=\"details\">");
    dt(b, "Requester", esc(q.requester().user()));
    dt(b, "Role", esc(q.role()));
    dt(b, "Action", esc(q.action().name()));
    dt(b, "Scope", esc(scope(q.scope())));
    dt(b, "Duration asked", q.duration().map(Html::duration).orElse("the policy's default"));
    String granted = d.grantedDuration().map(Html::duration).orElse("-");
    if (d.durationClamped()) {
      granted += " <strong class=\"clamped\">(clamped to the policy's maximum)</strong>";
    }
    dt(b, "Duration granted", granted);
    dt(b, "Ticket", q.ticket().map(Html::esc).orElse("-"));
    dt(b, "Justification", q.justification().map(j -> "<span class=\"justification\">" + esc(j) + "</span>").orElse("-"));
    dt(b, "Policy rule", d.ruleId().map(id -> "<code>" + esc(id) + "</code>").orElse("-") + " — " + esc(d.reason()));
    d.approval().ifPresent(a -> {
      long have = r.approvalCount();
      dt(b, "Approvals", have + " of " + a.minApprovals() + " needed"
          + (have < a.minApprovals() && r.state() == RequestState.PENDING_APPROVAL
              ? " (" + (a.minApprovals() - have) + " more)" : "")
          + "; approvers: " + esc(String.join(", ", a.approverGroups())));
      if (!r.approvals().isEmpty()) {
        StringBuilder v = new StringBuilder("<ul>");
        for (Approval ap : r.approvals()) {
          v.append("<li>").append(esc(ap.approver().user())).append(ap.approved() ? " approved" : " denied")
              .append(" at ").append(Html.time(ap.at()))
              .append(ap.comment().map(c -> ": <q>" + esc(c) + "</q>").orElse("")).append("</li>");
        }
        dt(b, "Votes", v.append("</ul>").toString());
      }
    });
    r.endCause().ifPresent(c -> dt(b, "Ended", esc(c.name()) + r.endedBy().map(by -> " by " + esc(by.user())).orElse("")
        + r.endReason().map(x -> ": " + esc(x)).orElse("")));
    b.append("</dl>");
    return b.toString();
  }

  private static void dt(StringBuilder b, String term, String html) {
    b.append("<dt>").append(term).append("</dt><dd>").append(html).append("</dd>");
  }

  private String voteForms(Sessions.Session s, RequestRecord r) {
    boolean mayVote = r.state() == RequestState.PENDING_APPROVAL
        && !r.request().requester().samePerson(s.identity())
        && broker.pendingFor(s.identity()).stream().anyMatch(p -> p.id().equals(r.id()));
    if (!mayVote) {
      return "";
    }
    String id = r.id().value();
    return "<form method=\"post\" action=\"/requests/" + id + "/approve\" class=\"vote\">" + csrf(s)
        + "<label for=\"comment-approve-" + id + "\">Comment (optional)</label>"
        + "<textarea id=\"comment-approve-" + id + "\" name=\"comment\" maxlength=\"" + MAX_COMMENT + "\" rows=\"2\"></textarea>"
        + "<button type=\"submit\" class=\"approve\">Approve</button></form>"
        + "<form method=\"post\" action=\"/requests/" + id + "/deny\" class=\"vote\">" + csrf(s)
        + "<label for=\"comment-deny-" + id + "\">Reason for denying (optional)</label>"
        + "<textarea id=\"comment-deny-" + id + "\" name=\"comment\" maxlength=\"" + MAX_COMMENT + "\" rows=\"2\"></textarea>"
        + "<button type=\"submit\" class=\"deny\">Deny</button></form>";
  }

  private String revokeForm(Sessions.Session s, RequestRecord r) {
    Identity me = s.identity();
    boolean may = !r.state().isTerminal() && (r.request().requester().samePerson(me) || me.inAnyGroup(broker.adminGroups())
        || r.decision().approval().map(a -> me.inAnyGroup(a.approverGroups())).orElse(false));
    if (!may) {
      return "";
    }
    String id = r.id().value();
    return "<form method=\"post\" action=\"/requests/" + id + "/revoke\" class=\"revoke\">" + csrf(s)
        + "<label for=\"reason-revoke-" + id + "\">Reason</label>"
        + "<input type=\"text\" id=\"reason-revoke-" + id + "\" name=\"comment\" maxlength=\"" + MAX_COMMENT + "\">"
        + "<button type=\"submit\" class=\"revoke\">Revoke</button></form>";
  }

  private String timeLeft(RequestRecord r) {
    Instant now = clock.instant();
    if (r.state() == RequestState.ACTIVE && r.grant().isPresent()) {
      return "<p class=\"time-left\">Grant <code>" + r.grant().get().id().value() + "</code> active: "
          + Html.until(r.grant().get().expiresAt(), now, true) + " (until " + Html.time(r.grant().get().expiresAt())
          + ")</p>";
    }
    if (r.state() == RequestState.REVOKING && r.grant().isPresent()) {
      return "<p class=\"time-left\">Grant <code>" + r.grant().get().id().value() + "</code> is being revoked: it"
          + " authorises nothing; its access in the cluster is not removed yet and the broker retries until it is.</p>";
    }
    if (r.state() == RequestState.PENDING_APPROVAL || r.state() == RequestState.APPROVED) {
      return "<p class=\"time-left\">" + (r.state() == RequestState.APPROVED ? "Approved; activate within " : "Open for ")
          + Html.until(r.expiresAt(), now, true) + "</p>";
    }
    return "";
  }

  private String grantUse(RequestRecord r) {
    StringBuilder b = new StringBuilder();
    if (commandsForRole != null && r.request().action().name().equals("exec")) {
      List<String> cmds = commandsForRole.apply(r.request().role());
      if (cmds != null && !cmds.isEmpty()) {
        b.append("<details><summary>Commands the role allows</summary><ul class=\"commands\">");
        cmds.forEach(c -> b.append("<li><code>").append(esc(c)).append("</code></li>"));
        b.append("</ul></details>");
      }
    }
    if (r.state() == RequestState.APPROVED) {
      b.append("<p>Activate it: <code>kubejit activate ").append(r.id().value()).append("</code></p>");
    }
    if (r.state() == RequestState.ACTIVE && r.grant().isPresent()) {
      String g = r.grant().get().id().value();
      b.append("<p>Credentials: <code>kubejit kubeconfig --grant ").append(g).append("</code></p>");
      if (sshCommand != null) {
        b.append("<p>SSH gateway: <code>").append(esc(sshCommand.replace("{grant}", g))).append("</code></p>");
      }
    }
    return b.toString();
  }

  private static boolean breakGlass(RequestRecord r) {
    return r.decision().breakGlass() || r.grant().map(Grant::breakGlass).orElse(false);
  }

  static String scope(Scope s) {
    return s.cluster() + s.namespace().map(n -> "/" + n).orElse(" (cluster-wide)") + s.pod().map(p -> " pod " + p).orElse("")
        + s.node().map(n -> " node " + n).orElse("");
  }

  private static String doneNote(String done) {
    if ("revoking".equals(done)) {
      return "<p class=\"done\" role=\"status\">The grant was revoked and authorises nothing; its access in the"
          + " cluster could not be removed yet, and the broker retries until it is.</p>";
    }
    if (done == null || !Set.of("approved", "denied", "revoked").contains(done)) {
      return "";
    }
    return "<p class=\"done\" role=\"status\">The request was " + done + ".</p>";
  }

  private static String csrf(Sessions.Session s) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(s.csrf()) + "\">";
  }

  // ---------------------------------------------------------------------------------- output

  private ConsoleReply page(int status, String title, Sessions.Session s, String body) {
    return page(status, title, s, body, null);
  }

  private ConsoleReply page(int status, String title, Sessions.Session s, String body, String cookie) {
    StringBuilder b = new StringBuilder(4096);
    b.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .append("<title>").append(esc(title)).append(" · KubeJIT</title>")
        .append("<link rel=\"stylesheet\" href=\"/static/console.css\">")
        .append("<script src=\"/static/console.js\" defer></script></head><body>")
        .append("<a class=\"skip\" href=\"#main\">Skip to content</a><header><span class=\"brand\">KubeJIT</span>");
    if (s != null) {
      b.append("<nav aria-label=\"Console\"><ul><li><a href=\"/\">Needs my approval</a></li>")
          .append("<li><a href=\"/mine\">My requests and grants</a></li>")
          .append("<li><a href=\"/who\">Who used either path</a></li></ul></nav>")
          .append("<form method=\"post\" action=\"/logout\" class=\"logout\">").append(csrf(s))
          .append("<span class=\"me\">").append(esc(s.identity().user())).append("</span>")
          .append("<button type=\"submit\">Sign out</button></form>");
    }
    b.append("</header><main id=\"main\"><h1>").append(esc(title)).append("</h1>").append(body)
        .append("</main></body></html>");
    return new ConsoleReply(status, securityHeaders("text/html; charset=utf-8"), cookie,
        b.toString().getBytes(StandardCharsets.UTF_8));
  }

  private ConsoleReply redirect(String location, String cookie) {
    Map<String, String> h = securityHeaders("text/plain; charset=utf-8");
    h.put("Location", location);
    return new ConsoleReply(303, h, cookie, new byte[0]);
  }

  private static Map<String, String> securityHeaders(String type) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Content-Type", type);
    h.put("Content-Security-Policy", CSP);
    h.put("X-Content-Type-Options", "nosniff");
    h.put("X-Frame-Options", "DENY");
    h.put("Referrer-Policy", "no-referrer");
    h.put("Cache-Control", "no-store");
    return h;
  }

  // --------------------------------------------------------------------------------- helpers

  private static String cookie(ConsoleRequest req, String name) {
    String header = req.header("Cookie").orElse("");
    for (String part : header.split(";")) {
      String p = part.strip();
      if (p.startsWith(name + "=")) {
        return p.substring(name.length() + 1);
      }
    }
    return null;
  }

  private static String body(ConsoleRequest req) {
    byte[] b = req.bodyUnsafe();
    if (b.length > ConsoleRequest.MAX_BODY_BYTES) {
      return "";
    }
    return new String(b, StandardCharsets.UTF_8);
  }

  private static String localPath(ConsoleRequest req) {
    return req.path() + (req.rawQuery().isEmpty() ? "" : "?" + req.rawQuery());
  }

  /** Only a path on this site: no scheme, no {@code //host}, no backslash tricks. */
  static String safeNext(String next) {
    if (next == null || !next.startsWith("/") || next.startsWith("//") || next.contains("\\") || next.length() > 512
        || next.chars().anyMatch(c -> c < 0x21 || c > 0x7e) || next.startsWith(CALLBACK_PATH)
        || next.startsWith("/login")) {
      return "/";
    }
    return next;
  }

  private static String stripSlash(URI u) {
    String s = u.toString();
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  @Override
  public String toString() {
    return "WebConsole[" + baseUrl + ", " + oidc + ", " + sessions + "]";
  }

  /** A page that ends handling early. */
  private static final class Refusal extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient ConsoleReply reply;

    Refusal(ConsoleReply reply) {
      super(null, null, false, false);
      this.reply = reply;
    }
  }

  /** Builds a {@link WebConsole}. */
  public static final class Builder {
    private JitBroker broker;
    private String issuer;
    private String clientId;
    private Supplier<char[]> clientSecret;
    private HttpClient http;
    private IdTokenVerifier verifier;
    private URI baseUrl;
    private Clock clock = Clock.systemUTC();
    private Duration sessionTtl = Duration.ofMinutes(15);
    private Path auditLog;
    private List<Path> kubeAuditLogs = List.of();
    private Function<String, List<String>> commandsForRole;
    private String sshCommand;
    private Set<String> auditorGroups = Set.of();
    private Path gatewayRecordings;

    private Builder() {}

    /** The broker the console shows and acts on (required). */
    public Builder broker(JitBroker broker) {
      this.broker = requireNonNull(broker, "broker");
      return this;
    }

    /**
     * The OpenID Connect client (required): the issuer (its discovery document is read on the first
     * sign-in), the client ID, the HTTP client that reaches the issuer (it decides which CAs are
     * trusted), and the verifier for the ID tokens the issuer returns.
     */
    public Builder oidc(String issuer, String clientId, HttpClient http, IdTokenVerifier verifier) {
      this.issuer = requireNonNull(issuer, "issuer");
      this.clientId = requireNonNull(clientId, "clientId");
      this.http = requireNonNull(http, "http");
      this.verifier = requireNonNull(verifier, "verifier");
      return this;
    }

    /**
     * Makes the client confidential: the secret is asked for at each code exchange and sent with HTTP
     * Basic; the returned array is wiped after use. Without it the client is public (PKCE only).
     */
    public Builder clientSecret(Supplier<char[]> secret) {
      this.clientSecret = requireNonNull(secret, "secret");
      return this;
    }

    /** The console's external URL, e.g. {@code https://kubejit.example.com} (required; https or loopback http). */
    public Builder baseUrl(URI baseUrl) {
      requireNonNull(baseUrl, "baseUrl");
      boolean loopback = "http".equals(baseUrl.getScheme())
          && ("127.0.0.1".equals(baseUrl.getHost()) || "localhost".equals(baseUrl.getHost()));
      if (!"https".equals(baseUrl.getScheme()) && !loopback) {
        throw new IllegalArgumentException("the console's base URL must be https (http only on loopback): " + baseUrl);
      }
      if (baseUrl.getRawQuery() != null || baseUrl.getRawFragment() != null || baseUrl.getHost() == null
          || (baseUrl.getRawPath() != null && !baseUrl.getRawPath().isEmpty() && !baseUrl.getRawPath().equals("/"))) {
        throw new IllegalArgumentException("the console's base URL is scheme://host[:port] only (it is mounted at /): "
            + baseUrl);
      }
      this.baseUrl = baseUrl;
      return this;
    }

    /** The clock for sessions and countdowns (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** How long a session lasts at most (default 15 minutes; 1 minute to 12 hours); the ID token's expiry bounds it too. */
    public Builder sessionTtl(Duration ttl) {
      requireNonNull(ttl, "ttl");
      if (ttl.compareTo(Duration.ofMinutes(1)) < 0 || ttl.compareTo(Duration.ofHours(12)) > 0) {
        throw new IllegalArgumentException("the session TTL must be between 1 minute and 12 hours, not " + ttl);
      }
      this.sessionTtl = ttl;
      return this;
    }

    /** The broker's KubeJIT audit log (its base file stands for all segments), for timelines and queries. */
    public Builder auditLog(Path file) {
      this.auditLog = requireNonNull(file, "file");
      return this;
    }

    /** The API server's audit logs ({@code audit.k8s.io/v1} JSON lines), joined with the grants. */
    public Builder kubeAuditLogs(List<Path> files) {
      this.kubeAuditLogs = ImmutableList.copyOf(files);
      return this;
    }

    /** What an exec grant of a role allows (shown on the requester's pages), e.g. from the policy. */
    public Builder commandsForRole(Function<String, List<String>> commands) {
      this.commandsForRole = requireNonNull(commands, "commands");
      return this;
    }

    /** Groups whose members may query the audit logs ("who used either path"), besides the broker's admin groups. */
    public Builder auditorGroups(Set<String> groups) {
      this.auditorGroups = Set.copyOf(groups);
      return this;
    }

    /**
     * The gateway's recordings directory ({@code <dir>/<grant id>/*.cast}): grant pages list a
     * grant's recordings with their SHA-256 and offer them as downloads to whoever may see the request.
     */
    public Builder gatewayRecordings(Path directory) {
      this.gatewayRecordings = requireNonNull(directory, "directory");
      return this;
    }

    /** The SSH line for the gateway, with {@code {grant}} standing for the grant ID. */
    public Builder sshCommand(String template) {
      this.sshCommand = requireNonNull(template, "template");
      return this;
    }

    /**
     * Builds the console.
     *
     * @throws IllegalStateException naming what is missing: broker, oidc, baseUrl
     */
    public WebConsole build() {
      if (broker == null) {
        throw new IllegalStateException("broker(...) is required");
      }
      if (issuer == null) {
        throw new IllegalStateException("oidc(...) is required");
      }
      if (baseUrl == null) {
        throw new IllegalStateException("baseUrl(...) is required");
      }
      return new WebConsole(this);
    }
  }
}
