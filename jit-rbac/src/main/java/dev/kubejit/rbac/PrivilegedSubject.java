package dev.kubejit.rbac;

import com.google.common.collect.ImmutableList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A subject that holds {@code cluster-admin} or an escalation-capable permission, and the binding
 * and role through which it holds it; one result of {@link RbacLinter#audit(RbacSnapshot)}.
 */
public final class PrivilegedSubject {
  private final String subjectKind;
  private final String subjectName;
  private final String subjectNamespace;
  private final String bindingKind;
  private final String bindingNamespace;
  private final String bindingName;
  private final String roleKind;
  private final String roleName;
  private final ImmutableList<String> reasons;

  PrivilegedSubject(String subjectKind, String subjectName, String subjectNamespace, String bindingKind,
      String bindingNamespace, String bindingName, String roleKind, String roleName, List<String> reasons) {
    this.subjectKind = subjectKind;
    this.subjectName = subjectName;
    this.subjectNamespace = subjectNamespace;
    this.bindingKind = bindingKind;
    this.bindingNamespace = bindingNamespace;
    this.bindingName = bindingName;
    this.roleKind = roleKind;
    this.roleName = roleName;
    this.reasons = ImmutableList.copyOf(reasons);
  }

  /** {@code User}, {@code Group} or {@code ServiceAccount}. */
  public String subjectKind() {
    return subjectKind;
  }

  /** The subject's name. */
  public String subjectName() {
    return subjectName;
  }

  /** The ServiceAccount's namespace; empty for users and groups. */
  public Optional<String> subjectNamespace() {
    return Optional.ofNullable(subjectNamespace);
  }

  /** {@code RoleBinding} or {@code ClusterRoleBinding}. */
  public String bindingKind() {
    return bindingKind;
  }

  /** The RoleBinding's namespace; empty for a ClusterRoleBinding. */
  public Optional<String> bindingNamespace() {
    return Optional.ofNullable(bindingNamespace);
  }

  /** The binding's name. */
  public String bindingName() {
    return bindingName;
  }

  /** {@code Role} or {@code ClusterRole}. */
  public String roleKind() {
    return roleKind;
  }

  /** The role's name. */
  public String roleName() {
    return roleName;
  }

  /** Why it is privileged: {@code cluster-admin} or the ids of the linter checks the role fails. */
  public ImmutableList<String> reasons() {
    return reasons;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof PrivilegedSubject)) {
      return false;
    }
    PrivilegedSubject p = (PrivilegedSubject) o;
    return subjectKind.equals(p.subjectKind) && subjectName.equals(p.subjectName)
        && Objects.equals(subjectNamespace, p.subjectNamespace) && bindingKind.equals(p.bindingKind)
        && Objects.equals(bindingNamespace, p.bindingNamespace) && bindingName.equals(p.bindingName)
        && roleKind.equals(p.roleKind) && roleName.equals(p.roleName) && reasons.equals(p.reasons);
  }

  @Override
  public int hashCode() {
    return Objects.hash(subjectKind, subjectName, subjectNamespace, bindingKind, bindingNamespace, bindingName);
  }

  /** {@code Group system:masters via ClusterRoleBinding/cluster-admin -> ClusterRole/cluster-admin [cluster-admin]}. */
  @Override
  public String toString() {
    return subjectKind + " " + (subjectNamespace == null ? "" : subjectNamespace + "/") + subjectName + " via "
        + bindingKind + "/" + (bindingNamespace == null ? "" : bindingNamespace + "/") + bindingName + " -> "
        + roleKind + "/" + roleName + " " + reasons;
  }
}
