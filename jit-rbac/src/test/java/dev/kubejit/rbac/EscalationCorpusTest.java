package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Runs the committed corpora through the linter: every escalation entry must give exactly its
 * listed error and warning ids (so a new blind spot or a new false alarm fails), every clean entry
 * no error. {@code PrivilegeModelKubeTest} proves against a real API server that the permissions
 * the entries are about are real.
 */
class EscalationCorpusTest {
  static final RbacLinter LINTER = RbacLinter.builder().maxJitDuration(Duration.ofHours(8))
      .clock(Clock.fixed(Fixtures.NOW, ZoneOffset.UTC)).build();

  static Set<String> ids(List<Finding> findings, Finding.Severity s) {
    return findings.stream().filter(f -> f.severity() == s).map(Finding::id)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static List<String> mismatches(List<Corpus.Entry> entries) {
    List<String> bad = new java.util.ArrayList<>();
    for (Corpus.Entry e : entries) {
      List<Finding> f = LINTER.lintYaml(e.objects);
      Set<String> errors = ids(f, Finding.Severity.ERROR);
      Set<String> warnings = ids(f, Finding.Severity.WARNING);
      if (!errors.equals(e.errors) || !warnings.equals(e.warnings)) {
        bad.add(e.id + ": expected errors " + e.errors + " warnings " + e.warnings + ", got errors " + errors
            + " warnings " + warnings + "\n    " + f.stream().map(Finding::toString)
                .collect(Collectors.joining("\n    ")));
      }
    }
    return bad;
  }

  @Test
  void everyEscalationEntryGivesExactlyItsErrors() {
    List<Corpus.Entry> corpus = Corpus.load("escalation-corpus.yaml");
    assertTrue(corpus.size() >= 45, "corpus shrank: " + corpus.size());
    for (Corpus.Entry e : corpus) {
      assertFalse(e.errors.isEmpty(), e.id + " is in the escalation corpus but expects no error");
    }
    List<String> bad = mismatches(corpus);
    assertEquals(List.of(), bad, String.join("\n", bad));
  }

  @Test
  void everyCleanEntryGivesNoError() {
    List<Corpus.Entry> corpus = Corpus.load("clean-corpus.yaml");
    assertTrue(corpus.size() >= 10, "corpus shrank: " + corpus.size());
    for (Corpus.Entry e : corpus) {
      assertTrue(e.errors.isEmpty(), e.id + " is in the clean corpus but expects errors");
    }
    List<String> bad = mismatches(corpus);
    assertEquals(List.of(), bad, String.join("\n", bad));
  }

  @Test
  void corpusCoversEveryErrorCheckAndHasUniqueIds() {
    List<Corpus.Entry> all = new java.util.ArrayList<>(Corpus.load("escalation-corpus.yaml"));
    all.addAll(Corpus.load("clean-corpus.yaml"));
    Set<String> seen = new HashSet<>();
    Set<String> covered = new TreeSet<>();
    for (Corpus.Entry e : all) {
      assertTrue(seen.add(e.id), "duplicate corpus id " + e.id);
      covered.addAll(e.errors);
      covered.addAll(e.warnings);
    }
    Set<String> everyCheck = new TreeSet<>(List.of("wildcard", "escalation-verb", "secrets-read", "nodes-proxy",
        "serviceaccount-token", "csr-approval", "workload-write", "rbac-write", "webhook-write", "pod-exec",
        "aggregation", "user-subject", "broad-subject", "jit-subject", "privileged-roleref", "unknown-roleref",
        "jit-expiry-too-long", "jit-created-in-future", "malformed", "cluster-scoped-jit", "exec-get-only"));
    everyCheck.removeAll(covered);
    // rbac-write and jit-no-expiry are covered by RbacLinterTest's matrix; everything else must be here.
    everyCheck.remove("rbac-write");
    assertEquals(Set.of(), everyCheck, "checks without a corpus entry");
  }
}
