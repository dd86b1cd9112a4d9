package dev.kubejit.store.kubernetes;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.IncompatibleStoreException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.RequestStore;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.ApisApi;
import io.kubernetes.client.openapi.models.V1APIGroup;
import io.kubernetes.client.openapi.models.V1Status;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesListObject;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link RequestStore} that keeps each request as an {@code AccessRequest} custom resource
 * ({@code accessrequests.kubejit.dev/v1alpha1}) in one namespace, so every broker replica, the CLI
 * and the reaper that can reach the API server share the same state, and {@code kubectl get
 * accessrequests} shows it.
 *
 * <p>The CRD ({@link #crdYaml()}) is installed once per cluster; the store runs under the Role in
 * {@link #roleYaml()} in its namespace and needs nothing else. The object's name is the request
 * id; {@code spec} (the request, the decision, the window and the lifecycle as inserted) is written
 * once by {@link #insert} and never changed ({@link #replace} refuses to); each transition rewrites
 * {@code status} through the status subresource, which cannot touch {@code spec}.
 *
 * <ul>
 *   <li>{@link #find} reads the object from the API server (never a cache).
 *   <li>{@link #replace} is compare-and-set twice over: the stored {@code status.version} must
 *       equal {@code expected.version()}, and the write carries the {@code resourceVersion} it was
 *       read at, so the API server refuses it (HTTP 409, reported as {@code false}) if any other
 *       replica wrote in between. It refuses to change the request, decision or window.
 *   <li>{@link #list} answers from a client-java informer (list + watch) indexed on the state, not
 *       with a LIST per call. What this instance wrote, or read from the API server, is visible to
 *       its next {@code list} (it waits, bounded, for the watch to deliver it, then falls back to
 *       one LIST); other replicas' writes appear once the watch delivers them, which is what an
 *       expiry sweep needs: the broker re-reads each record before it acts.
 *   <li>{@link #findByGrant} looks the grant up in the informer's index, then by the label {@code
 *       kubejit.dev/grant-id}, and always returns the record as read from the API server.
 * </ul>
 *
 * <p>Close the store to stop its informer. Failures are {@link KubernetesStoreException}s; a
 * stored object that does not decode to a valid request is one too (fail closed: it is never
 * skipped silently).
 */
public final class KubernetesRequestStore implements RequestStore, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesRequestStore.class);

  static final String GROUP = "kubejit.dev";
  static final String VERSION = "v1alpha1";
  static final String PLURAL = "accessrequests";
  static final String KIND = "AccessRequest";
  static final String CRD_NAME = PLURAL + "." + GROUP;
  /** Label naming the grant of an activated request (set before the status that carries it). */
  static final String GRANT_LABEL = "kubejit.dev/grant-id";
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  static final String CRD_RESOURCE = "crd-accessrequests.yaml";
  static final String ROLE_RESOURCE = "role-kubejit-broker-store.yaml";
  private static final String STATE_INDEX = "state";
  /** Open (non-terminal) requests, all under one key: the expiry sweep never touches ended ones. */
  private static final String OPEN_INDEX = "open";
  private static final String GRANT_INDEX = "grant";
  private static final String REVOKING = RequestState.REVOKING.name();
  private static final Set<String> OPEN_STATES = java.util.Arrays.stream(RequestState.values())
      .filter(st -> !st.isTerminal()).map(Enum::name).collect(java.util.stream.Collectors.toUnmodifiableSet());
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  /** Attempts of one replace when only a label write (ours or another replica's) got in the way. */
  private static final int REPLACE_ATTEMPTS = 5;

  private final AccessRequestApi api;
  private final String namespace;
  private final Duration cacheLagLimit;
  private final SharedInformerFactory factory;
  private final SharedIndexInformer<DynamicKubernetesObject> informer;
  /**
   * Versions this instance wrote or read from the API server and its cache has not shown yet: name
   * to record version. list waits for them, so it never shows this instance something older than
   * what it already saw (read-your-writes and monotonic reads per store instance).
   */
  private final ConcurrentMap<String, Long> unseenWrites = new ConcurrentHashMap<>();
  /** Writes the initial status of inserted requests in the background (for kubectl's columns only). */
  private final java.util.concurrent.ThreadPoolExecutor statusMirror;
  private volatile boolean closed;

  private KubernetesRequestStore(Builder b, ApiClient client) {
    this.namespace = b.namespace;
    this.cacheLagLimit = b.cacheLagLimit;
    this.api = new AccessRequestApi(client, namespace);
    checkServedVersion(client, namespace);
    this.statusMirror = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0, java.util.concurrent.TimeUnit.SECONDS,
        new java.util.concurrent.LinkedBlockingQueue<>(10_000), r -> {
          Thread t = new Thread(r, "kubejit-accessrequest-status-" + namespace);
          t.setDaemon(true);
          return t;
        });
    this.factory = new SharedInformerFactory(client);
    AtomicReference<Throwable> lastError = new AtomicReference<>();
    this.informer = factory.sharedIndexInformerFor(api.listerWatcher(), DynamicKubernetesObject.class, 0L,
        (type, error) -> {
          lastError.set(error);
          LOG.warn("AccessRequest watch in namespace {} failed: {}", namespace, error.toString());
        });
    informer.addIndexers(Map.of(
        STATE_INDEX, o -> List.of(stateOf(o)),
        OPEN_INDEX, o -> OPEN_STATES.contains(stateOf(o)) ? List.of(OPEN_INDEX) : List.of(),
        GRANT_INDEX, o -> grantOf(o).map(List::of).orElse(List.of())));
    factory.startAllRegisteredInformers();
    long deadline = System.nanoTime() + b.startTimeout.toNanos();
    try {
      while (!informer.hasSynced()) {
        if (System.nanoTime() > deadline) {
          throw startFailure(lastError.get(), b.startTimeout);
        }
        Thread.sleep(10);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      factory.stopAllRegisteredInformers();
      statusMirror.shutdown();
      throw new KubernetesStoreException("interrupted while the AccessRequest cache started", 0, e);
    } catch (RuntimeException e) {
      factory.stopAllRegisteredInformers();
      statusMirror.shutdown();
      throw e;
    }
  }

  /**
   * Refuses a cluster whose AccessRequest CRD prefers a version newer than {@link #VERSION} (a newer
   * KubeJIT installed it) or no longer serves ours; API discovery is readable by every
   * authenticated identity, so this needs no permission beyond the Role.
   */
  private static void checkServedVersion(ApiClient client, String namespace) {
    V1APIGroup group = null;
    try {
      for (V1APIGroup g : new ApisApi(client).getAPIVersions().execute().getGroups()) {
        if (GROUP.equals(g.getName())) {
          group = g;
        }
      }
    } catch (ApiException e) {
      throw new KubernetesStoreException("cannot read API discovery: HTTP " + e.getCode(), e.getCode(), e);
    } catch (RuntimeException e) {
      throw new KubernetesStoreException("cannot read API discovery: " + e.getClass().getSimpleName() + ": "
          + e.getMessage(), 0, e);
    }
    if (group == null) {
      throw new KubernetesStoreException("the API server does not serve " + GROUP + "; install the CRD " + CRD_NAME
          + " (deploy/" + CRD_RESOURCE + ")", 404, null);
    }
    String preferred = group.getPreferredVersion() == null ? null : group.getPreferredVersion().getVersion();
    boolean served = group.getVersions().stream().anyMatch(v -> VERSION.equals(v.getVersion()));
    if (!served || (preferred != null && KubeVersions.compare(preferred, VERSION) > 0)) {
      throw new IncompatibleStoreException("the cluster's " + CRD_NAME + " was installed by a newer KubeJIT: it "
          + (served ? "prefers " + GROUP + "/" + Codec.safe(preferred) : "no longer serves " + GROUP + "/" + VERSION)
          + ", this code knows " + GROUP + "/" + VERSION + "; upgrade KubeJIT (store namespace " + namespace + ")");
    }
  }

  private KubernetesStoreException startFailure(Throwable error, Duration timeout) {
    String detail = error == null ? "no answer" : error.toString();
    int code = 0;
    if (error instanceof ApiException) {
      code = ((ApiException) error).getCode();
    }
    String hint = code == 404 ? "; is the CRD " + CRD_NAME + " installed (deploy/" + CRD_RESOURCE + ")?"
        : code == 403 ? "; the store's identity needs the Role in deploy/" + ROLE_RESOURCE + " in namespace "
            + namespace : "";
    return new KubernetesStoreException("the AccessRequest cache in namespace " + namespace
        + " did not sync within " + timeout + ": " + detail + hint, code, error);
  }

  /** Returns a builder; a client (or kubeconfig) and the namespace are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The CustomResourceDefinition this store needs, as shipped in {@code deploy/}. */
  public static String crdYaml() {
    return resource(CRD_RESOURCE);
  }

  /** The least-privilege Role this store (and {@link LeaderElectedExpiry}) needs, as shipped in {@code deploy/}. */
  public static String roleYaml() {
    return resource(ROLE_RESOURCE);
  }

  private static String resource(String name) {
    try (InputStream in = KubernetesRequestStore.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("resource " + name + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read resource " + name, e);
    }
  }

  /** The namespace the requests live in. */
  public String namespace() {
    return namespace;
  }

  /**
   * Creates the AccessRequest (one POST, so it exists whole or not at all).
   *
   * @throws IllegalStateException if a request with this id exists
   * @throws KubernetesStoreException if the API server refuses or cannot be reached
   */
  @Override
  public void insert(RequestRecord record) {
    checkOpen();
    String name = record.id().value();
    JsonObject raw = new JsonObject();
    raw.addProperty("apiVersion", GROUP + "/" + VERSION);
    raw.addProperty("kind", KIND);
    JsonObject meta = new JsonObject();
    meta.addProperty("name", name);
    meta.addProperty("namespace", namespace);
    JsonObject labels = new JsonObject();
    labels.addProperty(MANAGED_BY, "kubejit");
    record.grant().ifPresent(g -> labels.addProperty(GRANT_LABEL, g.id().value()));
    meta.add("labels", labels);
    raw.add("metadata", meta);
    raw.add("spec", Codec.spec(record));
    KubernetesApiResponse<DynamicKubernetesObject> created = call("create", name,
        () -> api.create(raw));
    if (created.getHttpStatusCode() == 409) {
      throw new IllegalStateException("request " + name + " already exists in namespace " + namespace);
    }
    requireSuccess("create", name, created);
    unseenWrites.merge(name, record.version(), Math::max);
    // The status mirrors spec.initial so that kubectl's columns show the state from the start. The
    // record is complete without it, so this write is off the caller's path and best effort: it is
    // compare-and-set on the create's resourceVersion, so it loses harmlessly to any later write.
    JsonObject withStatus = created.getObject().getRaw().deepCopy();
    withStatus.add("status", Codec.lifecycle(record));
    try {
      statusMirror.execute(() -> {
        KubernetesApiResponse<DynamicKubernetesObject> status;
        try {
          status = api.replaceStatus(name, withStatus);
        } catch (RuntimeException e) {
          LOG.debug("initial status of AccessRequest {}/{} not written: {}", namespace, name, e.toString());
          return;
        }
        if (!status.isSuccess()) {
          LOG.debug("initial status of AccessRequest {}/{} not written: HTTP {}", namespace, name,
              status.getHttpStatusCode());
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException full) {
      LOG.debug("initial status of AccessRequest {}/{} skipped: {}", namespace, name, full.toString());
    }
  }

  /**
   * Reads the request from the API server.
   *
   * @throws KubernetesStoreException if the API server refuses, or the object does not decode
   */
  @Override
  public Optional<RequestRecord> find(RequestId id) {
    checkOpen();
    return read(id.value()).map(o -> decode(o.getRaw()));
  }

  private Optional<DynamicKubernetesObject> read(String name) {
    KubernetesApiResponse<DynamicKubernetesObject> r = call("read", name, () -> api.get(name));
    if (r.getHttpStatusCode() == 404) {
      return Optional.empty();
    }
    requireSuccess("read", name, r);
    long seen = versionOf(r.getObject().getRaw());
    if (seen != Long.MIN_VALUE) {
      unseenWrites.merge(name, seen, Math::max);
    }
    return Optional.of(r.getObject());
  }

  /**
   * Finds the request whose grant has this id: the cache's grant index names it, or else the
   * {@code kubejit.dev/grant-id} label does; the answer is the object as read from the API server,
   * and only if its grant really has this id.
   */
  @Override
  public Optional<RequestRecord> findByGrant(GrantId id) {
    checkOpen();
    List<String> names = new ArrayList<>();
    for (DynamicKubernetesObject o : informer.getIndexer().byIndex(GRANT_INDEX, id.value())) {
      names.add(o.getMetadata().getName());
    }
    if (names.isEmpty()) {
      KubernetesApiResponse<DynamicKubernetesListObject> r = call("list", "with grant " + id.value(),
          () -> api.list(GRANT_LABEL + "=" + id.value(), null, null));
      requireSuccess("list", "with grant " + id.value(), r);
      for (DynamicKubernetesObject o : r.getObject().getItems()) {
        names.add(o.getMetadata().getName());
      }
    }
    for (String name : names) {
      Optional<RequestRecord> rec = read(name).map(o -> decode(o.getRaw()));
      if (rec.isPresent() && rec.get().grant().map(g -> g.id().equals(id)).orElse(false)) {
        return rec;
      }
    }
    return Optional.empty();
  }

  /**
   * Writes {@code updated} if the stored record is still at {@code expected.version()} and nobody
   * wrote the object since it was read; returns false, changing nothing, otherwise.
   *
   * @throws IllegalArgumentException if the ids differ, the version does not increase, or {@code
   *     updated} changes the request, decision or window
   * @throws KubernetesStoreException if the API server refuses the new status (for example one
   *     the CRD's schema rejects) or cannot be reached
   */
  @Override
  public boolean replace(RequestRecord expected, RequestRecord updated) {
    checkOpen();
    if (!expected.id().equals(updated.id())) {
      throw new IllegalArgumentException("ids differ: " + expected.id() + " vs " + updated.id());
    }
    if (updated.version() <= expected.version()) {
      throw new IllegalArgumentException("the version must increase: " + expected.version() + " -> "
          + updated.version() + " for request " + expected.id());
    }
    String name = expected.id().value();
    JsonObject newSpec = Codec.immutablePart(Codec.spec(updated));
    String grant = updated.grant().map(g -> g.id().value()).orElse(null);
    for (int attempt = 0; attempt < REPLACE_ATTEMPTS; attempt++) {
      Optional<DynamicKubernetesObject> current = read(name);
      if (current.isEmpty()) {
        return false;
      }
      JsonObject raw = current.get().getRaw();
      RequestRecord stored = decode(raw);
      if (stored.version() != expected.version()) {
        return false;
      }
      if (!Codec.immutablePart(raw.getAsJsonObject("spec")).equals(newSpec)) {
        throw new IllegalArgumentException("replace may not change the request, decision or window of request "
            + name);
      }
      if (grant != null && !grant.equals(label(raw, GRANT_LABEL))) {
        // Label first: the label is only an index; findByGrant checks the grant in the record.
        JsonObject labelled = raw.deepCopy();
        JsonObject meta = labelled.getAsJsonObject("metadata");
        if (!meta.has("labels") || !meta.get("labels").isJsonObject()) {
          meta.add("labels", new JsonObject());
        }
        meta.getAsJsonObject("labels").addProperty(GRANT_LABEL, grant);
        KubernetesApiResponse<DynamicKubernetesObject> r =
            call("label", name, () -> api.replace(name, labelled));
        if (r.getHttpStatusCode() == 409) {
          continue;
        }
        requireSuccess("label", name, r);
        raw = r.getObject().getRaw();
      }
      JsonObject next = raw.deepCopy();
      next.add("status", Codec.lifecycle(updated));
      KubernetesApiResponse<DynamicKubernetesObject> r = call("write the status of", name, () -> api.replaceStatus(name, next));
      if (r.getHttpStatusCode() == 409) {
        continue;
      }
      requireSuccess("write the status of", name, r);
      unseenWrites.merge(name, updated.version(), Math::max);
      return true;
    }
    LOG.debug("replace of AccessRequest {}/{} kept conflicting; reporting a concurrent update", namespace, name);
    return false;
  }

  /**
   * Lists the requests in any of {@code states} from the informer cache, oldest first.
   *
   * @throws KubernetesStoreException if a cached object does not decode, or the fallback LIST fails
   */
  @Override
  public List<RequestRecord> list(Set<RequestState> states) {
    checkOpen();
    List<DynamicKubernetesObject> objects = new ArrayList<>();
    if (awaitOwnWrites()) {
      for (RequestState s : states) {
        objects.addAll(informer.getIndexer().byIndex(STATE_INDEX, s.name()));
      }
    } else {
      LOG.warn("AccessRequest cache in {} lags more than {} behind this store's writes; listing from the API server",
          namespace, cacheLagLimit);
      for (DynamicKubernetesObject o : listAll()) {
        if (states.contains(RequestState.valueOf(stateOf(o)))) {
          objects.add(o);
        }
      }
    }
    List<RequestRecord> out = new ArrayList<>(objects.size());
    for (DynamicKubernetesObject o : objects) {
      out.add(decode(o.getRaw()));
    }
    out.sort(Comparator.comparing(RequestRecord::createdAt).thenComparing(r -> r.id().value()));
    return out;
  }

  /**
   * Lists the open requests whose window ends at or before {@code end}, earliest first: the cache's
   * index of open requests is filtered on {@code status.windowEnd} before anything is decoded.
   */
  @Override
  public List<RequestRecord> listEndingBy(Instant end) {
    checkOpen();
    requireNonNull(end, "end");
    List<DynamicKubernetesObject> objects;
    if (awaitOwnWrites()) {
      objects = informer.getIndexer().byIndex(OPEN_INDEX, OPEN_INDEX);
    } else {
      objects = new ArrayList<>();
      for (DynamicKubernetesObject o : listAll()) {
        if (OPEN_STATES.contains(stateOf(o))) {
          objects.add(o);
        }
      }
    }
    List<RequestRecord> out = new ArrayList<>();
    for (DynamicKubernetesObject o : objects) {
      Instant windowEnd = windowEndOf(o);
      // status.windowEnd of a REVOKING record is its grant's expiry (kubectl's column); the sweep
      // needs it from the time of the revocation, which only the decoded record knows.
      if (windowEnd == null || !windowEnd.isAfter(end) || REVOKING.equals(stateOf(o))) {
        RequestRecord r = decode(o.getRaw());
        if (r.windowEnd().map(w -> !w.isAfter(end)).orElse(false)) {
          out.add(r);
        }
      }
    }
    out.sort(Comparator.comparing((RequestRecord r) -> r.windowEnd().orElseThrow())
        .thenComparing(r -> r.id().value()));
    return out;
  }

  /** status.windowEnd as written, or null when absent or unreadable (then the record is decoded). */
  private static Instant windowEndOf(DynamicKubernetesObject o) {
    JsonObject life = lifecycleOf(o.getRaw());
    JsonElement w = life == null ? null : life.get("windowEnd");
    try {
      return w == null || !w.isJsonPrimitive() ? null : Instant.parse(w.getAsString());
    } catch (java.time.format.DateTimeParseException e) {
      return null;
    }
  }

  /**
   * LISTs the namespace. Awaited versions stay awaited until the cache shows them (so the next list
   * from the cache is not older than this one), except for objects the LIST no longer shows.
   */
  private List<DynamicKubernetesObject> listAll() {
    List<DynamicKubernetesObject> all = listAllPages();
    Set<String> listed = new java.util.HashSet<>();
    for (DynamicKubernetesObject o : all) {
      listed.add(o.getMetadata().getName());
    }
    unseenWrites.keySet().removeIf(name -> !listed.contains(name));
    return all;
  }

  private List<DynamicKubernetesObject> listAllPages() {
    List<DynamicKubernetesObject> all = new ArrayList<>();
    String cont = null;
    do {
      String page = cont;
      KubernetesApiResponse<DynamicKubernetesListObject> r = call("list", "*", () -> api.list(null, 500, page));
      requireSuccess("list", "*", r);
      all.addAll(r.getObject().getItems());
      cont = r.getObject().getMetadata() == null ? null : r.getObject().getMetadata().getContinue();
    } while (cont != null && !cont.isEmpty());
    return all;
  }

  /** Waits until the cache shows every version this instance wrote; false if it lags beyond the limit. */
  private boolean awaitOwnWrites() {
    long deadline = System.nanoTime() + cacheLagLimit.toNanos();
    while (true) {
      unseenWrites.entrySet().removeIf(e -> cachedVersion(e.getKey()) >= e.getValue());
      if (unseenWrites.isEmpty()) {
        return true;
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  private long cachedVersion(String name) {
    DynamicKubernetesObject o = informer.getIndexer().getByKey(namespace + "/" + name);
    return o == null ? Long.MIN_VALUE : versionOf(o.getRaw());
  }

  /** The record version in status (or spec.initial) without decoding the rest; MIN_VALUE if unreadable. */
  private static long versionOf(JsonObject raw) {
    JsonObject life = lifecycleOf(raw);
    JsonElement v = life == null ? null : life.get("version");
    try {
      return v == null || !v.isJsonPrimitive() ? Long.MIN_VALUE : v.getAsLong();
    } catch (NumberFormatException e) {
      return Long.MIN_VALUE;
    }
  }

  private RequestRecord decode(JsonObject raw) {
    String name = raw.has("metadata") && raw.getAsJsonObject("metadata").has("name")
        ? raw.getAsJsonObject("metadata").get("name").getAsString() : null;
    try {
      JsonElement spec = raw.get("spec");
      JsonElement status = raw.get("status");
      return Codec.decode(name, spec != null && spec.isJsonObject() ? spec.getAsJsonObject() : null,
          status != null && status.isJsonObject() ? status.getAsJsonObject() : null);
    } catch (Codec.MalformedObjectException e) {
      throw new KubernetesStoreException("in namespace " + namespace + ": " + e.getMessage(), 0, e);
    }
  }

  /** status once written, else spec.initial (the API server drops status on create). */
  private static JsonObject lifecycleOf(JsonObject raw) {
    JsonElement status = raw.get("status");
    if (status != null && status.isJsonObject()) {
      return status.getAsJsonObject();
    }
    JsonElement spec = raw.get("spec");
    if (spec != null && spec.isJsonObject()) {
      JsonElement initial = spec.getAsJsonObject().get("initial");
      if (initial != null && initial.isJsonObject()) {
        return initial.getAsJsonObject();
      }
    }
    return null;
  }

  private static String stateOf(DynamicKubernetesObject o) {
    JsonObject life = lifecycleOf(o.getRaw());
    JsonElement s = life == null ? null : life.get("state");
    return s == null || !s.isJsonPrimitive() ? "<none>" : s.getAsString();
  }

  private static Optional<String> grantOf(DynamicKubernetesObject o) {
    JsonObject life = lifecycleOf(o.getRaw());
    JsonElement g = life == null ? null : life.get("grant");
    if (g == null || !g.isJsonObject() || !g.getAsJsonObject().has("id")) {
      return Optional.empty();
    }
    return Optional.of(g.getAsJsonObject().get("id").getAsString());
  }

  private static String label(JsonObject raw, String key) {
    JsonObject meta = raw.getAsJsonObject("metadata");
    if (meta == null || !meta.has("labels") || !meta.get("labels").isJsonObject()) {
      return null;
    }
    JsonElement v = meta.getAsJsonObject("labels").get(key);
    return v == null ? null : v.getAsString();
  }

  private <T extends io.kubernetes.client.common.KubernetesType> KubernetesApiResponse<T> call(String what,
      String name, java.util.function.Supplier<KubernetesApiResponse<T>> request) {
    try {
      return request.get();
    } catch (RuntimeException e) {
      throw new KubernetesStoreException("cannot " + what + " AccessRequest " + namespace + "/" + Codec.safe(name)
          + ": " + e.getClass().getSimpleName() + ": " + e.getMessage(), 0, e);
    }
  }

  private void requireSuccess(String what, String name, KubernetesApiResponse<?> r) {
    if (r.isSuccess()) {
      return;
    }
    V1Status s = r.getStatus();
    int code = r.getHttpStatusCode();
    String hint = code == 403 ? " (the store's identity needs the Role in deploy/" + ROLE_RESOURCE + ")"
        : code == 404 && "*".equals(name) ? " (is the CRD " + CRD_NAME + " installed?)" : "";
    throw new KubernetesStoreException("cannot " + what + " AccessRequest " + namespace + "/" + Codec.safe(name)
        + ": HTTP " + code + (s == null ? "" : " " + s.getReason() + ": " + s.getMessage()) + hint, code, null);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the Kubernetes request store for namespace " + namespace + " is closed");
    }
  }

  /** Stops the informer; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      statusMirror.shutdown();
      factory.stopAllRegisteredInformers();
    }
  }

  @Override
  public String toString() {
    return "KubernetesRequestStore{namespace=" + namespace + (closed ? ", closed" : "") + "}";
  }

  /** Builds a {@link KubernetesRequestStore}; each option may be set once. */
  public static final class Builder {
    private ApiClient client;
    private Path kubeconfig;
    private String namespace;
    private Duration startTimeout = Duration.ofSeconds(30);
    private Duration cacheLagLimit = Duration.ofSeconds(5);

    private Builder() {}

    /**
     * The client-java {@code ApiClient} to talk to the API server with; its identity needs the
     * shipped Role in {@link #namespace}. Exclusive with {@link #kubeconfig}.
     */
    public Builder clientJavaApiClient(ApiClient client) {
      requireUnset(this.client == null && kubeconfig == null, "a client or kubeconfig was already set");
      this.client = requireNonNull(client, "client");
      return this;
    }

    /** The kubeconfig file whose current context to use. Exclusive with {@link #clientJavaApiClient}. */
    public Builder kubeconfig(Path kubeconfig) {
      requireUnset(this.client == null && this.kubeconfig == null, "a client or kubeconfig was already set");
      this.kubeconfig = requireNonNull(kubeconfig, "kubeconfig");
      return this;
    }

    /** The namespace the requests live in (required; usually the broker's own). */
    public Builder namespace(String namespace) {
      requireUnset(this.namespace == null, "namespace was already set to " + this.namespace);
      requireNonNull(namespace, "namespace");
      if (!NAMESPACE.matcher(namespace).matches()) {
        throw new IllegalArgumentException("namespace must be a DNS-1123 label: " + Codec.safe(namespace));
      }
      this.namespace = namespace;
      return this;
    }

    /** How long {@link #build()} waits for the cache's first LIST (default 30 s). */
    public Builder startTimeout(Duration timeout) {
      this.startTimeout = positive(timeout, "start timeout");
      return this;
    }

    /**
     * How long {@link KubernetesRequestStore#list} waits for the watch to deliver this instance's
     * own writes before it lists from the API server instead (default 5 s).
     */
    public Builder cacheLagLimit(Duration limit) {
      this.cacheLagLimit = positive(limit, "cache lag limit");
      return this;
    }

    private static Duration positive(Duration d, String what) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive: " + d);
      }
      return d;
    }

    private static void requireUnset(boolean ok, String message) {
      if (!ok) {
        throw new IllegalStateException(message);
      }
    }

    /**
     * Connects, starts the cache and waits for its first LIST.
     *
     * @throws IllegalStateException if no client or kubeconfig, or no namespace, was set
     * @throws KubernetesStoreException if the kubeconfig cannot be read, the CRD is missing, or
     *     the identity may not list and watch AccessRequests in the namespace
     */
    public KubernetesRequestStore build() {
      if (client == null && kubeconfig == null) {
        throw new IllegalStateException("clientJavaApiClient(...) or kubeconfig(...) is required");
      }
      if (namespace == null) {
        throw new IllegalStateException("namespace is required");
      }
      ApiClient c = client;
      if (c == null) {
        try (Reader r = Files.newBufferedReader(kubeconfig, StandardCharsets.UTF_8)) {
          KubeConfig config = KubeConfig.loadKubeConfig(r);
          config.setFile(kubeconfig.toFile());
          c = ClientBuilder.kubeconfig(config).build();
        } catch (IOException | RuntimeException e) {
          throw new KubernetesStoreException("cannot load kubeconfig " + kubeconfig + ": "
              + e.getClass().getSimpleName(), 0, e);
        }
      }
      return new KubernetesRequestStore(this, c);
    }
  }
}
