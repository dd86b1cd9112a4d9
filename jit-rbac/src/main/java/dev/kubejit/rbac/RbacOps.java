package dev.kubejit.rbac;

import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1DeleteOptions;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Preconditions;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Idempotent, retrying create-or-replace and delete of KubeJIT's RBAC objects.
 *
 * <p>Design notes: a create that meets an existing object reads it and replaces it only when it
 * carries KubeJIT's managed-by label and the same grant id (never someone else's object), using
 * the read resourceVersion, so a concurrent writer makes the replace fail with 409 Conflict and
 * the read-replace cycle is retried. 429, 5xx and transport errors are retried too. Every retry
 * loop is bounded by {@code maxAttempts} with exponential backoff capped at two seconds. Deletes
 * treat 404 as done and carry a uid precondition when the uid is known, so a recreated object of
 * the same name is never removed by mistake.
 */
final class RbacOps {
  private static final Logger LOG = LoggerFactory.getLogger(RbacOps.class);

  interface Call<T> {
    T call() throws ApiException;
  }

  private final RbacAuthorizationV1Api api;
  private final int maxAttempts;
  private final Duration initialBackoff;
  final AtomicInteger conflictRetries = new AtomicInteger();
  /** Test seam: runs between reading an existing object and replacing it. */
  volatile Runnable beforeReplace = () -> {};

  RbacOps(ApiClient client, int maxAttempts, Duration initialBackoff) {
    this.api = new RbacAuthorizationV1Api(client);
    this.maxAttempts = maxAttempts;
    this.initialBackoff = initialBackoff;
  }

  RbacAuthorizationV1Api api() {
    return api;
  }

  /** Runs {@code call}, retrying 429, 5xx and transport errors. */
  <T> T retrying(String what, Call<T> call) throws ApiException {
    for (int attempt = 1; ; attempt++) {
      try {
        return call.call();
      } catch (ApiException e) {
        int c = e.getCode();
        boolean transient_ = c == 429 || c >= 500 || c == 0;
        if (!transient_ || attempt >= maxAttempts) {
          throw e;
        }
        LOG.debug("{} failed with HTTP {}, retrying (attempt {})", what, c, attempt);
        backoff(attempt);
      }
    }
  }

  void backoff(int attempt) {
    long ms = Math.min(2000, initialBackoff.toMillis() << Math.min(attempt - 1, 10));
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RbacException("interrupted while retrying");
    }
  }

  /** Creates or replaces the object; returns the object as stored. */
  KubernetesObject apply(KubernetesObject obj, String grantId) {
    String ref = ref(obj);
    for (int attempt = 1; ; attempt++) {
      try {
        return create(obj);
      } catch (ApiException e) {
        if (e.getCode() != 409) {
          if (!Kube.retryable(e) || attempt >= maxAttempts) {
            throw Kube.failure("cannot create " + ref + ": HTTP " + e.getCode() + " " + Kube.reason(e), e);
          }
          backoff(attempt);
          continue;
        }
      }
      try {
        KubernetesObject existing = read(obj);
        Map<String, String> labels = existing.getMetadata().getLabels();
        if (labels == null || !Names.MANAGED_BY_VALUE.equals(labels.get(Names.MANAGED_BY))
            || !grantId.equals(labels.get(Names.GRANT_ID))) {
          throw new RbacException(ref + " already exists and is not managed by KubeJIT for grant " + grantId
              + "; refusing to replace it");
        }
        obj.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
        beforeReplace.run();
        return replace(obj);
      } catch (ApiException e) {
        if (e.getCode() == 409 || e.getCode() == 404) {
          conflictRetries.incrementAndGet();
          LOG.debug("replace of {} raced with another writer (HTTP {}), retrying", ref, e.getCode());
        } else if (!Kube.retryable(e)) {
          throw Kube.failure("cannot replace " + ref + ": HTTP " + e.getCode() + " " + Kube.reason(e), e);
        }
        if (attempt >= maxAttempts) {
          throw Kube.failure("cannot apply " + ref + " after " + attempt + " attempts: HTTP " + e.getCode()
              + " " + Kube.reason(e), e);
        }
        obj.getMetadata().setResourceVersion(null);
        backoff(attempt);
      }
    }
  }

  private KubernetesObject create(KubernetesObject o) throws ApiException {
    String ns = o.getMetadata().getNamespace();
    if (o instanceof V1Role) {
      return api.createNamespacedRole(ns, (V1Role) o).execute();
    } else if (o instanceof V1RoleBinding) {
      return api.createNamespacedRoleBinding(ns, (V1RoleBinding) o).execute();
    } else if (o instanceof V1ClusterRole) {
      return api.createClusterRole((V1ClusterRole) o).execute();
    } else {
      return api.createClusterRoleBinding((V1ClusterRoleBinding) o).execute();
    }
  }

  private KubernetesObject read(KubernetesObject o) throws ApiException {
    String ns = o.getMetadata().getNamespace();
    String n = o.getMetadata().getName();
    if (o instanceof V1Role) {
      return api.readNamespacedRole(n, ns).execute();
    } else if (o instanceof V1RoleBinding) {
      return api.readNamespacedRoleBinding(n, ns).execute();
    } else if (o instanceof V1ClusterRole) {
      return api.readClusterRole(n).execute();
    } else {
      return api.readClusterRoleBinding(n).execute();
    }
  }

  private KubernetesObject replace(KubernetesObject o) throws ApiException {
    String ns = o.getMetadata().getNamespace();
    String n = o.getMetadata().getName();
    if (o instanceof V1Role) {
      return api.replaceNamespacedRole(n, ns, (V1Role) o).execute();
    } else if (o instanceof V1RoleBinding) {
      return api.replaceNamespacedRoleBinding(n, ns, (V1RoleBinding) o).execute();
    } else if (o instanceof V1ClusterRole) {
      return api.replaceClusterRole(n, (V1ClusterRole) o).execute();
    } else {
      return api.replaceClusterRoleBinding(n, (V1ClusterRoleBinding) o).execute();
    }
  }

  /**
   * Deletes an object by kind, namespace (null for cluster-scoped) and name; returns whether this
   * call deleted it. 404 counts as done. A 404 after an attempt whose outcome is unknown (a 5xx or a
   * lost connection: the API server may have deleted the object before the answer was lost) counts
   * as deleted by this call, so that the caller records the deletion; the alternative, that nobody
   * records it, is worse for an audit trail than a rare second record.
   */
  boolean delete(String kind, String ns, String name, String uid) {
    V1DeleteOptions opts = new V1DeleteOptions();
    if (uid != null) {
      opts.preconditions(new V1Preconditions().uid(uid));
    }
    String ref = kind + " " + (ns == null ? "" : ns + "/") + name;
    boolean[] unknownOutcome = new boolean[1];
    try {
      retrying("delete " + ref, () -> {
        try {
          return deleteOnce(kind, ns, name, opts);
        } catch (ApiException e) {
          unknownOutcome[0] |= e.getCode() == 0 || e.getCode() >= 500;
          throw e;
        }
      });
      return true;
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        if (unknownOutcome[0]) {
          LOG.info("{} is gone after an attempt whose answer was lost; counting it as deleted by this call", ref);
        }
        return unknownOutcome[0];
      }
      if (e.getCode() == 409 && uid != null) {
        // The uid precondition failed: the name now belongs to a different object; leave it alone.
        return false;
      }
      throw Kube.failure("cannot delete " + ref + ": HTTP " + e.getCode() + " " + Kube.reason(e), e);
    }
  }

  private Object deleteOnce(String kind, String ns, String name, V1DeleteOptions opts) throws ApiException {
    switch (kind) {
      case "Role":
        return api.deleteNamespacedRole(name, ns).body(opts).execute();
      case "RoleBinding":
        return api.deleteNamespacedRoleBinding(name, ns).body(opts).execute();
      case "ClusterRole":
        return api.deleteClusterRole(name).body(opts).execute();
      case "ClusterRoleBinding":
        return api.deleteClusterRoleBinding(name).body(opts).execute();
      default:
        throw new IllegalArgumentException("unknown kind " + kind);
    }
  }

  /**
   * Deletes every managed binding and role labelled with the grant id (bindings first); returns the
   * count. A namespaced grant has only a Role and a RoleBinding in its namespace, so only that
   * namespace is listed: the broker needs no cluster-wide rights to end a namespaced grant.
   */
  int deleteGrant(String grantId, String namespace) {
    return deleteGrant(grantId, namespace, false);
  }

  /**
   * Deletes the grant's binding and then its role by the names {@code gen} gives them (what {@link
   * KubernetesRbacProvisioner#provision} created), each read first and deleted with its uid as
   * precondition only when it carries KubeJIT's label and this grant's id; then deletes whatever
   * else carries the grant's label, found in the API server's watch cache. Returns the count.
   *
   * <p>Why: a label-selector list is a quorum read of every object of the kind in the namespace
   * (about 40-100 ms each with 1,000 grants live on the test control plane), while a read by name
   * is one key. Access ends when the binding is deleted, which now comes first and costs two
   * calls. The cached list afterwards catches objects of the grant under other names (a template
   * or default changed since the grant was provisioned); an object so new that the cache has not
   * seen it is left to the expiry reaper, which deletes every managed object at its expiry.
   */
  int deleteNamed(GeneratedRbac gen) {
    String grantId = gen.grantId().value();
    String ns = gen.namespace().orElse(null);
    int n = 0;
    for (KubernetesObject o : List.of(gen.binding(), gen.role())) {
      String kind = o.getKind();
      String name = o.getMetadata().getName();
      KubernetesObject existing;
      try {
        existing = retrying("read " + kind + " " + name, () -> readByName(kind, ns, name));
      } catch (ApiException e) {
        if (e.getCode() == 404) {
          continue;
        }
        throw Kube.failure("cannot read " + kind + " " + (ns == null ? "" : ns + "/") + name + ": HTTP " + e.getCode()
            + " " + Kube.reason(e), e);
      }
      Map<String, String> labels = existing.getMetadata().getLabels();
      if (labels == null || !Names.MANAGED_BY_VALUE.equals(labels.get(Names.MANAGED_BY))
          || !grantId.equals(labels.get(Names.GRANT_ID))) {
        LOG.warn("{} {} is not KubeJIT's object for grant {}; leaving it alone", kind, name, grantId);
        continue;
      }
      if (delete(kind, ns, name, existing.getMetadata().getUid())) {
        n++;
      }
    }
    return n + deleteGrant(grantId, ns, true);
  }

  private KubernetesObject readByName(String kind, String ns, String name) throws ApiException {
    switch (kind) {
      case "Role":
        return api.readNamespacedRole(name, ns).execute();
      case "RoleBinding":
        return api.readNamespacedRoleBinding(name, ns).execute();
      case "ClusterRole":
        return api.readClusterRole(name).execute();
      case "ClusterRoleBinding":
        return api.readClusterRoleBinding(name).execute();
      default:
        throw new IllegalArgumentException("unknown kind " + kind);
    }
  }

  /** As {@link #deleteGrant(String, String)}; with {@code fromCache} the lists read the watch cache (resourceVersion 0). */
  private int deleteGrant(String grantId, String namespace, boolean fromCache) {
    String rv = fromCache ? "0" : null;
    String selector = Names.MANAGED_SELECTOR + "," + Names.GRANT_ID + "=" + grantId;
    List<String[]> targets = new ArrayList<>();
    try {
      if (namespace != null) {
        for (V1RoleBinding b : retrying("list", () ->
            api.listNamespacedRoleBinding(namespace).labelSelector(selector).resourceVersion(rv).execute()).getItems()) {
          targets.add(target("RoleBinding", b.getMetadata()));
        }
        for (V1Role r : retrying("list", () ->
            api.listNamespacedRole(namespace).labelSelector(selector).resourceVersion(rv).execute()).getItems()) {
          targets.add(target("Role", r.getMetadata()));
        }
        return deleteAll(targets);
      }
      for (V1ClusterRoleBinding b : retrying("list", () ->
          api.listClusterRoleBinding().labelSelector(selector).resourceVersion(rv).execute()).getItems()) {
        targets.add(target("ClusterRoleBinding", b.getMetadata()));
      }
      for (V1ClusterRole r : retrying("list", () ->
          api.listClusterRole().labelSelector(selector).resourceVersion(rv).execute()).getItems()) {
        targets.add(target("ClusterRole", r.getMetadata()));
      }
    } catch (ApiException e) {
      throw Kube.failure("cannot list RBAC objects of grant " + grantId + ": HTTP " + e.getCode() + " "
          + Kube.reason(e), e);
    }
    return deleteAll(targets);
  }

  private int deleteAll(List<String[]> targets) {
    int n = 0;
    for (String[] t : targets) {
      if (delete(t[0], t[1], t[2], t[3])) {
        n++;
      }
    }
    return n;
  }

  private static String[] target(String kind, V1ObjectMeta m) {
    return new String[] {kind, m.getNamespace(), m.getName(), m.getUid()};
  }

  static String ref(KubernetesObject o) {
    String ns = o.getMetadata().getNamespace();
    return o.getKind() + " " + (ns == null ? "" : ns + "/") + o.getMetadata().getName();
  }
}
