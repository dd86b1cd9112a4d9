package dev.kubejit.store.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** API versions order as the API server prioritises them (the example list of the CRD versioning docs). */
class KubeVersionsTest {
  @Test
  void ordersLikeTheApiServer() {
    List<String> expected = List.of("v10", "v2", "v1", "v11beta2", "v10beta3", "v3beta1", "v12alpha1", "v11alpha2",
        "foo1");
    List<String> shuffled = new ArrayList<>(expected);
    Collections.shuffle(shuffled, new java.util.Random(7));
    shuffled.sort((a, b) -> KubeVersions.compare(b, a));
    assertEquals(expected, shuffled);
    assertTrue(KubeVersions.compare("v1alpha2", "v1alpha1") > 0);
    assertEquals(0, KubeVersions.compare("v1alpha1", "v1alpha1"));
  }
}
