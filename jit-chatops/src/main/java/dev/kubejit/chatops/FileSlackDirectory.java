package dev.kubejit.chatops;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.Identity;
import dev.kubejit.api.SafeText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/** {@link SlackDirectory#fromFile}: an immutable map from (team, user) to identity. */
final class FileSlackDirectory implements SlackDirectory {
  static final Pattern SLACK_ID = Pattern.compile("[A-Z0-9]{2,32}");
  private static final int MAX_BYTES = 4 * 1024 * 1024;
  private final ImmutableMap<String, Identity> byKey;

  private FileSlackDirectory(ImmutableMap<String, Identity> byKey) {
    this.byKey = byKey;
  }

  static FileSlackDirectory load(Path file) {
    byte[] bytes;
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new IllegalArgumentException("Slack directory " + file + " is larger than " + MAX_BYTES + " bytes");
      }
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read Slack directory " + file + ": " + e.getClass().getSimpleName(), e);
    }
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory())
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
    JsonNode root;
    try {
      root = yaml.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("Slack directory " + file + " is not valid YAML/JSON at line "
          + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()), null);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read Slack directory " + file, e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("Slack directory " + file + " must be a mapping with key users");
    }
    fields(root, file + "", Set.of("users"));
    JsonNode users = root.path("users");
    if (!users.isArray()) {
      throw new IllegalArgumentException("Slack directory " + file + ": users must be a list");
    }
    ImmutableMap.Builder<String, Identity> b = ImmutableMap.builder();
    java.util.Set<String> seen = new java.util.HashSet<>();
    int i = 0;
    for (JsonNode u : users) {
      String where = file + ": users[" + i++ + "]";
      if (!u.isObject()) {
        throw new IllegalArgumentException(where + " must be a mapping");
      }
      fields(u, where, Set.of("team", "user", "name", "groups"));
      String team = id(u, "team", where);
      String user = id(u, "user", where);
      JsonNode name = u.path("name");
      if (!name.isTextual()) {
        throw new IllegalArgumentException(where + ": name is required (the KubeJIT user name)");
      }
      List<String> groups = new ArrayList<>();
      JsonNode g = u.path("groups");
      if (!g.isMissingNode()) {
        if (!g.isArray()) {
          throw new IllegalArgumentException(where + ": groups must be a list");
        }
        for (JsonNode x : g) {
          if (!x.isTextual()) {
            throw new IllegalArgumentException(where + ": every group must be a string");
          }
          groups.add(x.asText());
        }
      }
      Identity identity;
      try {
        identity = Identity.of(name.asText(), groups).assertedBy("slack:" + team);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage(), null);
      }
      if (!seen.add(key(team, user))) {
        throw new IllegalArgumentException(where + ": team " + team + " user " + user + " is listed twice");
      }
      b.put(key(team, user), identity);
    }
    return new FileSlackDirectory(b.build());
  }

  private static void fields(JsonNode node, String where, Set<String> allowed) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        throw new IllegalArgumentException(where + ": unknown field " + SafeText.quote(f) + "; expected one of "
            + new java.util.TreeSet<>(allowed));
      }
    }
  }

  private static String id(JsonNode u, String field, String where) {
    JsonNode v = u.path(field);
    if (!v.isTextual() || !SLACK_ID.matcher(v.asText()).matches()) {
      throw new IllegalArgumentException(where + ": " + field + " must be a Slack id such as T0123ABCD or U0123ABCD");
    }
    return v.asText();
  }

  private static String key(String team, String user) {
    return team + "/" + user;
  }

  @Override
  public Optional<Identity> lookup(String teamId, String userId) {
    if (teamId == null || userId == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(byKey.get(key(teamId, userId)));
  }

  @Override
  public String toString() {
    return "Slack directory of " + byKey.size() + " user(s)";
  }
}
