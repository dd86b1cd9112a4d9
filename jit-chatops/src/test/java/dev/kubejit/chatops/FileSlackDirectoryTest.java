package dev.kubejit.chatops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Identity;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSlackDirectoryTest {
  @TempDir Path dir;

  SlackDirectory load(String text) throws Exception {
    Path f = dir.resolve("d.yaml");
    Files.writeString(f, text);
    return SlackDirectory.fromFile(f);
  }

  @Test
  void mapsTeamAndUserToAnIdentity() throws Exception {
    SlackDirectory d = load("users:\n  - team: T01\n    user: U01\n    name: alice\n    groups: [oncall-payments, sre]\n"
        + "  - {team: T02, user: U01, name: mallory}\n");
    Identity a = d.lookup("T01", "U01").orElseThrow();
    assertEquals("alice", a.user());
    assertEquals(java.util.List.of("oncall-payments", "sre"), a.groups().asList());
    assertEquals("slack:T01", a.source());
    assertEquals("mallory", d.lookup("T02", "U01").orElseThrow().user(), "the team is part of the key");
    assertTrue(d.lookup("T01", "U02").isEmpty());
    assertTrue(d.lookup(null, "U01").isEmpty());
  }

  @Test
  void badFilesAreRefusedWithAClearMessage() throws Exception {
    String[][] bad = {
        {"users:\n  - {team: T01, user: U01, name: alice, admin: true}\n", "unknown field \"admin\""},
        {"users:\n  - {team: T01, user: U01, name: alice}\n  - {team: T01, user: U01, name: bob}\n", "listed twice"},
        {"users:\n  - {team: t01, user: U01, name: alice}\n", "team must be a Slack id"},
        {"users:\n  - {team: T01, user: U01}\n", "name is required"},
        {"users:\n  - {team: T01, user: U01, name: alice, groups: oncall}\n", "groups must be a list"},
        {"users: {}\n", "users must be a list"},
        {"people: []\n", "unknown field \"people\""},
        {"users:\n  - {team: T01, user: U01, name: alice, name: bob}\n", "not valid YAML"},
    };
    for (String[] b : bad) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> load(b[0]), b[0]);
      assertTrue(e.getMessage().contains(b[1]), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> SlackDirectory.fromFile(dir.resolve("missing.yaml")));
  }
}
