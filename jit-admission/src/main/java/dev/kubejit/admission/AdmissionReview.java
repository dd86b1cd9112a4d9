package dev.kubejit.admission;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.SafeText;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The parts of an {@code AdmissionReview} ({@code admission.k8s.io/v1} or {@code v1beta1}; the
 * request fields the webhook reads are the same in both) that the webhook decides on, and the
 * response it sends back in the same version.
 */
final class AdmissionReview {
  static final int MAX_BYTES = 3 * 1024 * 1024;
  static final String V1 = "admission.k8s.io/v1";
  static final String V1BETA1 = "admission.k8s.io/v1beta1";
  private static final ObjectMapper JSON = new ObjectMapper();

  final String apiVersion;
  final String uid;
  final String operation;
  final String resourceGroup;
  final String resource;
  final String subResource;
  final String namespace;
  final String name;
  final String user;
  final List<String> groups;
  /** The object: PodExecOptions, PodAttachOptions or PodPortForwardOptions for CONNECT. */
  final JsonNode object;

  private AdmissionReview(String apiVersion, String uid, String operation, String resourceGroup, String resource,
      String subResource, String namespace, String name, String user, List<String> groups, JsonNode object) {
    this.apiVersion = apiVersion;
    this.uid = uid;
    this.operation = operation;
    this.resourceGroup = resourceGroup;
    this.resource = resource;
    this.subResource = subResource;
    this.namespace = namespace;
    this.name = name;
    this.user = user;
    this.groups = groups;
    this.object = object;
  }

  static AdmissionReview parse(byte[] body) {
    if (body == null || body.length == 0) {
      throw new MalformedAdmissionReviewException("empty body; expected an AdmissionReview");
    }
    if (body.length > MAX_BYTES) {
      throw new MalformedAdmissionReviewException("AdmissionReview of " + body.length + " bytes is larger than "
          + MAX_BYTES);
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      throw new MalformedAdmissionReviewException("body is not JSON: " + e.getClass().getSimpleName());
    }
    if (root == null || !root.isObject()) {
      throw new MalformedAdmissionReviewException("body is not a JSON object");
    }
    String apiVersion = text(root, "apiVersion");
    if (!V1.equals(apiVersion) && !V1BETA1.equals(apiVersion)) {
      throw new MalformedAdmissionReviewException("apiVersion must be " + V1 + " or " + V1BETA1 + ", not "
          + SafeText.quote(String.valueOf(apiVersion)));
    }
    if (!"AdmissionReview".equals(text(root, "kind"))) {
      throw new MalformedAdmissionReviewException("kind must be AdmissionReview");
    }
    JsonNode req = root.get("request");
    if (req == null || !req.isObject()) {
      throw new MalformedAdmissionReviewException("AdmissionReview has no request");
    }
    String uid = text(req, "uid");
    if (uid == null || uid.isEmpty() || uid.length() > 128 || !uid.matches("[A-Za-z0-9-]+")) {
      throw new MalformedAdmissionReviewException("request.uid must be 1 to 128 letters, digits and '-'");
    }
    JsonNode resourceNode = req.get("resource");
    JsonNode userInfo = req.get("userInfo");
    List<String> groups = new ArrayList<>();
    String user = null;
    if (userInfo != null && userInfo.isObject()) {
      user = text(userInfo, "username");
      JsonNode g = userInfo.get("groups");
      if (g != null && g.isArray()) {
        for (JsonNode n : g) {
          if (!n.isTextual()) {
            throw new MalformedAdmissionReviewException("request.userInfo.groups must hold strings");
          }
          groups.add(n.asText());
        }
      }
    }
    return new AdmissionReview(apiVersion, uid, text(req, "operation"),
        resourceNode == null ? null : text(resourceNode, "group"),
        resourceNode == null ? null : text(resourceNode, "resource"),
        text(req, "subResource"), text(req, "namespace"), text(req, "name"), user,
        Collections.unmodifiableList(groups), req.get("object"));
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new MalformedAdmissionReviewException(field + " must be a string");
    }
    return v.asText();
  }

  /** The command array of a PodExecOptions object, or null if absent; throws if not strings. */
  List<String> command() {
    JsonNode c = object == null ? null : object.get("command");
    if (c == null || c.isNull()) {
      return null;
    }
    if (!c.isArray()) {
      throw new MalformedAdmissionReviewException("PodExecOptions.command must be an array");
    }
    List<String> argv = new ArrayList<>();
    for (JsonNode n : c) {
      if (!n.isTextual()) {
        throw new MalformedAdmissionReviewException("PodExecOptions.command must hold strings");
      }
      argv.add(n.asText());
    }
    return argv;
  }

  boolean flag(String field) {
    JsonNode v = object == null ? null : object.get(field);
    return v != null && v.asBoolean(false);
  }

  String container() {
    JsonNode v = object == null ? null : object.get("container");
    return v == null || !v.isTextual() || v.asText().isEmpty() ? null : v.asText();
  }

  /** The ports of a PodPortForwardOptions object, for the audit record. */
  String ports() {
    JsonNode v = object == null ? null : object.get("ports");
    if (v == null || !v.isArray()) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    for (JsonNode n : v) {
      sb.append(sb.length() == 0 ? "" : ",").append(n.asText());
    }
    return sb.toString();
  }

  /** The AdmissionReview answer, in the request's version, echoing its uid. */
  byte[] respond(boolean allowed, String message, Map<String, String> auditAnnotations) {
    ObjectNode root = JSON.createObjectNode();
    root.put("apiVersion", apiVersion);
    root.put("kind", "AdmissionReview");
    ObjectNode resp = root.putObject("response");
    resp.put("uid", uid);
    resp.put("allowed", allowed);
    if (!allowed) {
      ObjectNode status = resp.putObject("status");
      status.put("status", "Failure");
      status.put("reason", "Forbidden");
      status.put("code", 403);
      status.put("message", message);
    }
    if (!auditAnnotations.isEmpty()) {
      ObjectNode a = resp.putObject("auditAnnotations");
      auditAnnotations.forEach(a::put);
    }
    try {
      return JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render AdmissionReview", e);
    }
  }


  /** {@code s} as a JSON string literal. */
  static String jsonString(String s) {
    return JSON.getNodeFactory().textNode(s).toString();
  }
}
