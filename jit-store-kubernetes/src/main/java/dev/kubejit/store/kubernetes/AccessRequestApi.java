package dev.kubejit.store.kubernetes;

import com.google.gson.JsonObject;
import com.google.gson.reflect.TypeToken;
import io.kubernetes.client.informer.ListerWatcher;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.apis.CustomObjectsApi;
import io.kubernetes.client.openapi.models.V1Status;
import io.kubernetes.client.util.CallGeneratorParams;
import io.kubernetes.client.util.Watch;
import io.kubernetes.client.util.Watchable;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesListObject;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Iterator;
import okhttp3.Call;

/**
 * The AccessRequest calls of one namespace, on client-java's generated CustomObjectsApi with bodies
 * read as Gson JSON trees: client-java's generic API deserialises dynamic objects (lists especially)
 * without their raw JSON, and its updateStatus is a JSON patch that drops the resourceVersion, so
 * neither serves a compare-and-set store. Every call answers with the HTTP status and either the
 * object or the API server's Status; only a failure to get an HTTP answer at all throws.
 */
final class AccessRequestApi {
  private static final Type RESPONSE = new TypeToken<Watch.Response<JsonObject>>() {}.getType();

  private final ApiClient client;
  private final CustomObjectsApi api;
  private final String namespace;

  AccessRequestApi(ApiClient client, String namespace) {
    this.client = client;
    this.api = new CustomObjectsApi(client);
    this.namespace = namespace;
  }

  /** A call that could not be made or answered at all (no HTTP status). */
  @FunctionalInterface
  interface CallBuilder {
    Call build() throws ApiException;
  }

  private KubernetesApiResponse<DynamicKubernetesObject> object(CallBuilder call) {
    try {
      JsonObject body = client.<JsonObject>execute(call.build(), JsonObject.class).getData();
      return new KubernetesApiResponse<>(new DynamicKubernetesObject(body));
    } catch (ApiException e) {
      return failure(e);
    }
  }

  private static <T extends io.kubernetes.client.common.KubernetesType> KubernetesApiResponse<T> failure(
      ApiException e) {
    if (e.getCode() == 0) {
      throw new IllegalStateException("no answer from the API server: " + e.getMessage(), e);
    }
    V1Status status = null;
    try {
      status = e.getResponseBody() == null ? null : JSON.deserialize(e.getResponseBody(), V1Status.class);
    } catch (RuntimeException unparsable) {
      // keep the code alone
    }
    return new KubernetesApiResponse<>(status == null ? new V1Status().code(e.getCode()) : status, e.getCode());
  }

  KubernetesApiResponse<DynamicKubernetesObject> get(String name) {
    return object(() -> api.getNamespacedCustomObject(KubernetesRequestStore.GROUP, KubernetesRequestStore.VERSION,
        namespace, KubernetesRequestStore.PLURAL, name).buildCall(null));
  }

  KubernetesApiResponse<DynamicKubernetesObject> create(JsonObject body) {
    return object(() -> api.createNamespacedCustomObject(KubernetesRequestStore.GROUP, KubernetesRequestStore.VERSION,
        namespace, KubernetesRequestStore.PLURAL, body).buildCall(null));
  }

  /** PUT of the object; metadata.resourceVersion makes it compare-and-set. The API server ignores status here. */
  KubernetesApiResponse<DynamicKubernetesObject> replace(String name, JsonObject body) {
    return object(() -> api.replaceNamespacedCustomObject(KubernetesRequestStore.GROUP,
        KubernetesRequestStore.VERSION, namespace, KubernetesRequestStore.PLURAL, name, body).buildCall(null));
  }

  /** PUT of the status subresource; metadata.resourceVersion makes it compare-and-set. Only status changes. */
  KubernetesApiResponse<DynamicKubernetesObject> replaceStatus(String name, JsonObject body) {
    return object(() -> api.replaceNamespacedCustomObjectStatus(KubernetesRequestStore.GROUP,
        KubernetesRequestStore.VERSION, namespace, KubernetesRequestStore.PLURAL, name, body).buildCall(null));
  }

  KubernetesApiResponse<DynamicKubernetesListObject> list(String labelSelector, Integer limit, String cont) {
    try {
      Call call = api.listNamespacedCustomObject(KubernetesRequestStore.GROUP, KubernetesRequestStore.VERSION,
          namespace, KubernetesRequestStore.PLURAL).labelSelector(labelSelector).limit(limit)._continue(cont)
          .buildCall(null);
      JsonObject body = client.<JsonObject>execute(call, JsonObject.class).getData();
      return new KubernetesApiResponse<>(new DynamicKubernetesListObject(body));
    } catch (ApiException e) {
      return failure(e);
    }
  }

  /** List and watch of the namespace for the informer. */
  ListerWatcher<DynamicKubernetesObject, DynamicKubernetesListObject> listerWatcher() {
    return new ListerWatcher<>() {
      @Override
      public DynamicKubernetesListObject list(CallGeneratorParams params) throws ApiException {
        Call call = api.listNamespacedCustomObject(KubernetesRequestStore.GROUP, KubernetesRequestStore.VERSION,
            namespace, KubernetesRequestStore.PLURAL).resourceVersion(params.resourceVersion)
            .timeoutSeconds(params.timeoutSeconds).buildCall(null);
        return new DynamicKubernetesListObject(client.<JsonObject>execute(call, JsonObject.class).getData());
      }

      @Override
      public Watchable<DynamicKubernetesObject> watch(CallGeneratorParams params) throws ApiException {
        Call call = api.listNamespacedCustomObject(KubernetesRequestStore.GROUP, KubernetesRequestStore.VERSION,
            namespace, KubernetesRequestStore.PLURAL).resourceVersion(params.resourceVersion)
            .timeoutSeconds(params.timeoutSeconds).allowWatchBookmarks(true).watch(true).buildCall(null);
        Watch<JsonObject> raw = Watch.createWatch(client, call, RESPONSE);
        return new DynamicWatch(raw);
      }
    };
  }

  /** A watch of JSON trees seen as dynamic objects. */
  private static final class DynamicWatch implements Watchable<DynamicKubernetesObject> {
    private final Watch<JsonObject> raw;

    DynamicWatch(Watch<JsonObject> raw) {
      this.raw = raw;
    }

    @Override
    public boolean hasNext() {
      return raw.hasNext();
    }

    @Override
    public Watch.Response<DynamicKubernetesObject> next() {
      Watch.Response<JsonObject> r = raw.next();
      if (r.object == null) {
        return new Watch.Response<>(r.type, r.status);
      }
      return new Watch.Response<>(r.type, new DynamicKubernetesObject(r.object));
    }

    @Override
    public Iterator<Watch.Response<DynamicKubernetesObject>> iterator() {
      return this;
    }

    @Override
    public void close() throws IOException {
      raw.close();
    }
  }
}
