package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.kubejit.testing.Kubectl;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the tests of the shipped manifests under {@code deploy/} share: reading every YAML document
 * of a set of files, picking the one object of a kind, and asking the API server what a
 * ServiceAccount may do ({@code kubectl auth can-i} as it, with the groups it would have).
 */
final class DeployManifests {
  private DeployManifests() {}

  /** Every non-empty YAML document of {@code files}, in order. */
  static List<JsonNode> documents(List<Path> files) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    YAMLMapper yaml = new YAMLMapper();
    for (Path f : files) {
      try (MappingIterator<JsonNode> it = yaml.readerFor(JsonNode.class).readValues(f.toFile())) {
        while (it.hasNext()) {
          JsonNode d = it.next();
          if (d != null && !d.isMissingNode() && !d.isNull()) {
            docs.add(d);
          }
        }
      }
    }
    return docs;
  }

  /** The one document of {@code kind} (asserts there is exactly one in {@code where}). */
  static JsonNode only(List<JsonNode> docs, String kind, String where) {
    List<JsonNode> k = docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
    assertEquals(1, k.size(), "one " + kind + " in " + where);
    return k.get(0);
  }

  /**
   * Asserts that {@code podSpec} runs non-root with one container that has a read-only root file
   * system, no privilege escalation, not privileged, all capabilities dropped and none added; returns that container.
   */
  static JsonNode hardenedContainer(JsonNode podSpec) {
    assertTrue(podSpec.path("securityContext").path("runAsNonRoot").asBoolean(), "pod runAsNonRoot");
    assertTrue(podSpec.path("securityContext").path("runAsUser").asInt() > 0, "a non-root uid");
    assertEquals(1, podSpec.path("containers").size());
    JsonNode c = podSpec.path("containers").get(0);
    JsonNode sc = c.path("securityContext");
    assertTrue(sc.path("readOnlyRootFilesystem").asBoolean(), "read-only root file system");
    assertFalse(sc.path("allowPrivilegeEscalation").asBoolean(true), "no privilege escalation");
    assertTrue(sc.path("runAsNonRoot").asBoolean(), "container runAsNonRoot");
    assertFalse(sc.path("privileged").asBoolean(false));
    assertEquals("[\"ALL\"]", sc.path("capabilities").path("drop").toString());
    assertTrue(sc.path("capabilities").path("add").isMissingNode(), "no capability added");
    return c;
  }

  /** {@code kubectl auth can-i ARGS} as ServiceAccount user {@code sa} of namespace {@code ns}: "yes" or "no". */
  static String canI(Path admin, String sa, String ns, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("auth", "can-i"));
    cmd.addAll(Arrays.asList(args));
    cmd.addAll(List.of("--as=" + sa, "--as-group=system:serviceaccounts", "--as-group=system:serviceaccounts:" + ns,
        "--as-group=system:authenticated"));
    return Kubectl.run(admin, null, cmd.toArray(String[]::new)).out().strip();
  }

  /** The parts, one after the other, as kubectl arguments. */
  @SafeVarargs
  static String[] args(List<String>... parts) {
    return Arrays.stream(parts).flatMap(List::stream).toArray(String[]::new);
  }

  /** {@link #canI}, asked again for up to 30 s until "yes" (RBAC just applied reaches the authorizer's cache). */
  static String awaitYes(Path admin, String sa, String ns, String... args) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    String answer = canI(admin, sa, ns, args);
    while (!answer.equals("yes") && System.nanoTime() < deadline) {
      Thread.sleep(200);
      answer = canI(admin, sa, ns, args);
    }
    return answer;
  }
}
