package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * No third-party client type in the public API (issue 11): a public or protected member of a type
 * that callers can reach — method or constructor parameters, return types, generic type arguments,
 * thrown types, fields, and the type's own supertypes — never names a client-java, OkHttp, Jackson,
 * Nimbus, MINA SSHD, Gson or SnakeYAML type, so upgrading one of those libraries cannot break an
 * embedder's code. The exceptions are named adapter entry points, listed in {@link #ALLOWED} by
 * their full signature: each takes the caller's own client object, which is the point of it.
 *
 * <p>Covers every library module on this test classpath (jit-cli depends on all of them; the
 * Kubernetes CSR module and any module added later belong on it too) except {@code
 * dev.kubejit.testing}, whose control-plane fixture hands tests a client-java {@code ApiClient} on
 * purpose, and except {@code ..internal..} packages, which are not API.
 */
class PublicApiTest {
  static final List<String> FOREIGN = List.of("io.kubernetes.", "okhttp3.", "com.fasterxml.jackson.", "com.nimbusds.",
      "org.apache.sshd.", "com.google.gson.", "org.yaml.snakeyaml.", "kotlin.");

  /** Named adapter entry points that take the caller's own client; full signature as ArchUnit prints it. */
  static final Set<String> ALLOWED = Set.of(
      "dev.kubejit.credentials.kubernetes.KubernetesCsrIssuer$Builder.apiClient(io.kubernetes.client.openapi.ApiClient)",
      "dev.kubejit.rbac.KubernetesRbacProvisioner.builder(io.kubernetes.client.openapi.ApiClient)",
      "dev.kubejit.rbac.ExpiryReaper.builder(io.kubernetes.client.openapi.ApiClient)",
      "dev.kubejit.rbac.RbacSnapshot.fromCluster(io.kubernetes.client.openapi.ApiClient)",
      "dev.kubejit.rbac.RbacLinter.lintCluster(io.kubernetes.client.openapi.ApiClient)",
      "dev.kubejit.rbac.RbacLinter.auditCluster(io.kubernetes.client.openapi.ApiClient)",
      "dev.kubejit.store.kubernetes.KubernetesRequestStore$Builder.clientJavaApiClient(io.kubernetes.client.openapi.ApiClient)",
      "dev.kubejit.store.kubernetes.LeaderElectedExpiry.builder(dev.kubejit.api.JitBroker, io.kubernetes.client.openapi.ApiClient)");

  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.kubejit");
  }

  static boolean reachable(JavaClass c) {
    for (JavaClass t = c; t != null; t = t.getEnclosingClass().orElse(null)) {
      if (!t.getModifiers().contains(JavaModifier.PUBLIC)) {
        return false;
      }
    }
    String pkg = c.getPackageName();
    return !pkg.startsWith("dev.kubejit.testing") && !pkg.startsWith("dev.kubejit.cli") && !pkg.contains(".internal");
  }

  static boolean visible(Set<JavaModifier> m) {
    return m.contains(JavaModifier.PUBLIC) || m.contains(JavaModifier.PROTECTED);
  }

  static List<String> foreign(Iterable<JavaClass> types) {
    List<String> out = new ArrayList<>();
    for (JavaClass t : types) {
      JavaClass base = t.isArray() ? t.getBaseComponentType() : t;
      if (FOREIGN.stream().anyMatch(base.getName()::startsWith)) {
        out.add(base.getName());
      }
    }
    return out;
  }

  static Set<String> violations() {
    Set<String> found = new TreeSet<>();
    for (JavaClass c : classes) {
      if (!reachable(c)) {
        continue;
      }
      List<String> supers = foreign(c.getAllRawSuperclasses());
      supers.addAll(foreign(c.getAllRawInterfaces()));
      if (!supers.isEmpty()) {
        found.add(c.getName() + " extends " + supers);
      }
      for (JavaCodeUnit u : c.getCodeUnits()) {
        if (visible(u.getModifiers()) && !u.getModifiers().contains(JavaModifier.SYNTHETIC)
            && !u.getModifiers().contains(JavaModifier.BRIDGE)) {
          List<String> f = foreign(u.getAllInvolvedRawTypes());
          f.addAll(foreign(u.getThrowsClause().getTypes()));
          if (!f.isEmpty() && !ALLOWED.contains(u.getFullName())) {
            found.add(u.getFullName() + " uses " + f);
          }
        }
      }
      for (JavaField field : c.getFields()) {
        if (visible(field.getModifiers())) {
          List<String> f = foreign(field.getAllInvolvedRawTypes());
          if (!f.isEmpty()) {
            found.add(field.getFullName() + " is " + f);
          }
        }
      }
    }
    return found;
  }

  @Test
  void noThirdPartyClientTypeInAnyPublicSignature() {
    Set<String> v = violations();
    assertTrue(v.isEmpty(), "third-party types in the public API:\n  " + String.join("\n  ", v));
  }

  /** Every allow-listed entry point still exists (a renamed one must leave the list, not linger as a blank cheque). */
  @Test
  void allowListNamesRealEntryPoints() {
    Set<String> existing = new TreeSet<>();
    for (JavaClass c : classes) {
      for (JavaCodeUnit u : c.getCodeUnits()) {
        existing.add(u.getFullName());
      }
    }
    Set<String> stale = new TreeSet<>(ALLOWED);
    stale.removeAll(existing);
    assertEquals(Set.of(), stale);
  }

  /** The rule is not vacuous: the modules it guards were imported, and it does see a foreign type where there is one. */
  @Test
  void ruleSeesEveryModuleAndWouldCatchALeak() {
    for (String pkg : List.of("dev.kubejit.api", "dev.kubejit.credentials", "dev.kubejit.credentials.ssh",
        "dev.kubejit.credentials.jwt", "dev.kubejit.credentials.kubernetes", "dev.kubejit.rbac", "dev.kubejit.policy",
        "dev.kubejit.audit", "dev.kubejit.admission")) {
      assertTrue(classes.stream().anyMatch(c -> c.getPackageName().equals(pkg) && reachable(c)), "no public class imported from " + pkg);
    }
    JavaClass builder = classes.get("dev.kubejit.credentials.kubernetes.KubernetesCsrIssuer$Builder");
    assertEquals(List.of("io.kubernetes.client.openapi.ApiClient"),
        foreign(builder.getMethod("apiClient", "io.kubernetes.client.openapi.ApiClient").getAllInvolvedRawTypes()));
  }
}
