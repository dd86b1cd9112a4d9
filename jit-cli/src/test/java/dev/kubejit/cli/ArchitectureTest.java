package dev.kubejit.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency rule over compiled classes (the Maven Enforcer checks the same on declared
 * dependencies): jit-api uses Guava and SLF4J only; adapters never use one another; no library
 * uses the CLI.
 */
class ArchitectureTest {
  private static final String[] ADAPTERS = {"credentials", "rbac", "policy", "audit", "store.jdbc", "store.kubernetes", "admission",
      "chatops", "membership.keycloak"};
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.kubejit");
  }

  @Test
  void apiDependsOnGuavaAndSlf4jOnly() {
    classes().that().resideInAPackage("dev.kubejit.api..")
        .should().onlyDependOnClassesThat()
        .resideInAnyPackage("java..", "dev.kubejit.api..", "com.google.common..", "org.slf4j..",
            "com.google.errorprone.annotations..", "org.jspecify..", "javax.annotation..")
        .because("jit-api must stay light enough to embed anywhere")
        .check(classes);
  }

  @Test
  void adaptersDoNotDependOnEachOther() {
    for (String adapter : ADAPTERS) {
      for (String other : ADAPTERS) {
        if (!adapter.equals(other)) {
          noClasses().that().resideInAPackage("dev.kubejit." + adapter + "..")
              .should().dependOnClassesThat().resideInAPackage("dev.kubejit." + other + "..")
              .because("adapters plug into jit-api, not into each other")
              .check(classes);
        }
      }
    }
  }

  /**
   * The credential plug-ins (ssh, jwt, kubernetes) build on jit-credentials and never on one
   * another, and jit-credentials never reaches for a plug-in or its library: an X.509-only user
   * needs neither MINA SSHD, Nimbus nor client-java on the classpath.
   */
  @Test
  void credentialPluginsAreIndependentAndTheCoreNeedsNone() {
    String[] plugins = {"ssh", "jwt", "kubernetes"};
    for (String p : plugins) {
      for (String q : plugins) {
        if (!p.equals(q)) {
          noClasses().that().resideInAPackage("dev.kubejit.credentials." + p + "..")
              .should().dependOnClassesThat().resideInAPackage("dev.kubejit.credentials." + q + "..")
              .check(classes);
        }
      }
    }
    noClasses().that().resideInAnyPackage("dev.kubejit.credentials", "dev.kubejit.credentials.internal")
        .should().dependOnClassesThat().resideInAnyPackage("dev.kubejit.credentials.ssh..", "dev.kubejit.credentials.jwt..",
            "dev.kubejit.credentials.kubernetes..", "org.apache.sshd..", "com.nimbusds..", "io.kubernetes..", "okhttp3..")
        .because("jit-credentials alone must run without the plug-ins' libraries")
        .check(classes);
  }

  @Test
  void librariesDoNotDependOnCliOrTestFixtures() {
    noClasses().that().resideInAnyPackage("dev.kubejit.api..", "dev.kubejit.credentials..",
            "dev.kubejit.rbac..", "dev.kubejit.policy..", "dev.kubejit.audit..", "dev.kubejit.store..", "dev.kubejit.admission..",
            "dev.kubejit.chatops..", "dev.kubejit.membership..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.kubejit.cli..", "dev.kubejit.testing..")
        .check(classes);
  }

  @Test
  void adaptersActuallyContainClasses() {
    // Guards against the rules above passing vacuously because nothing was imported.
    for (String pkg : new String[] {"api", "credentials", "rbac", "policy", "audit", "store.jdbc", "store.kubernetes", "admission",
        "chatops", "membership.keycloak", "console"}) {
      classes().that().resideInAPackage("dev.kubejit." + pkg + "..").should().bePublic().orShould().notBePublic()
          .allowEmptyShould(false).check(classes);
    }
  }

  @Test
  void theConsoleUsesTheBrokerAndTheAuditLogsOnly() {
    classes().that().resideInAPackage("dev.kubejit.console..")
        .should().onlyDependOnClassesThat()
        .resideInAnyPackage("java..", "javax.net..", "dev.kubejit.console..", "dev.kubejit.api..", "dev.kubejit.audit..",
            "com.google.common..", "com.fasterxml.jackson..", "org.slf4j..", "com.google.errorprone.annotations..",
            "org.jspecify..", "javax.annotation..")
        .because("jit-console is a service over jit-api's broker and jit-audit's logs; kubejit serve wires it")
        .allowEmptyShould(false)
        .check(classes);
  }
}
