package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.testkit.engine.EngineTestKit;

class KubeControlPlaneExtensionTest {

  /** Only run through the EngineTestKit below; JUnit does not discover static nested classes. */
  @KubeTest
  static class NeedsControlPlane {
    @Test
    void usesIt(KubeControlPlane cp) {
      assertNotNull(cp.serverUrl());
    }
  }

  @Test
  void missingBinariesFailTheTestInsteadOfSkippingIt(@TempDir Path empty) {
    String oldHome = System.getProperty("user.home");
    String oldProp = System.getProperty(TestEnvBinaries.PROPERTY);
    System.setProperty("user.home", empty.toString());
    System.setProperty(TestEnvBinaries.PROPERTY, empty.toString());
    try {
      EngineTestKit.engine("junit-jupiter")
          .selectors(selectClass(NeedsControlPlane.class))
          .execute()
          .testEvents()
          .assertStatistics(s -> s.started(1).failed(1).aborted(0).skipped(0).succeeded(0))
          .assertThatEvents()
          .haveExactly(
              1,
              event(
                  test("usesIt"),
                  finishedWithFailure(
                      instanceOf(ParameterResolutionException.class),
                      message(
                          m ->
                              m.contains("scripts/testenv.sh")
                                  && m.contains("KUBEBUILDER_ASSETS")))));
    } finally {
      System.setProperty("user.home", oldHome);
      if (oldProp == null) {
        System.clearProperty(TestEnvBinaries.PROPERTY);
      } else {
        System.setProperty(TestEnvBinaries.PROPERTY, oldProp);
      }
    }
  }

  /** Only run through the EngineTestKit below. */
  @KubeTest
  static class NeedsNode {
    @Test
    void first(KubeNode node) {
      assertNotNull(node.name());
    }

    @Test
    void second(KubeNode node) {
      assertNotNull(node.name());
    }
  }

  @Test
  void missingNodeAssetsFailEveryTestThatAsksForANodeWithTheScriptsToRun(@TempDir Path empty) {
    String oldAssets = System.getProperty(NodeAssets.PROPERTY);
    String oldImages = System.getProperty(NodeAssets.IMAGES_PROPERTY);
    System.setProperty(NodeAssets.PROPERTY, empty.toString());
    System.setProperty(NodeAssets.IMAGES_PROPERTY, empty.toString());
    try {
      EngineTestKit.engine("junit-jupiter")
          .selectors(selectClass(NeedsNode.class))
          .execute()
          .testEvents()
          .assertStatistics(s -> s.started(2).failed(2).aborted(0).skipped(0).succeeded(0))
          .assertThatEvents()
          .haveExactly(
              2,
              event(
                  finishedWithFailure(
                      instanceOf(ParameterResolutionException.class),
                      message(
                          m ->
                              m.startsWith("KubeNode cannot start: ")
                                  && m.contains("scripts/testenv.sh --node")
                                  && m.contains("scripts/testnode-images.sh")))));
    } finally {
      restore(NodeAssets.PROPERTY, oldAssets);
      restore(NodeAssets.IMAGES_PROPERTY, oldImages);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  @Test
  void kubeTestCarriesTheKubeTag() {
    assertEquals("kube", KubeTest.class.getAnnotation(org.junit.jupiter.api.Tag.class).value());
  }
}
