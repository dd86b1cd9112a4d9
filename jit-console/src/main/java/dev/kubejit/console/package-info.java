/**
 * The KubeJIT web console for approvers and auditors ({@link dev.kubejit.console.WebConsole}):
 * server-rendered pages over a {@link dev.kubejit.api.JitBroker} and the audit logs, signed in with
 * OpenID Connect (authorization code with PKCE), as a neutral request-to-reply handler ({@link
 * dev.kubejit.console.ConsoleRequest} to {@link dev.kubejit.console.ConsoleReply}) that a host such
 * as {@code kubejit serve} mounts at {@code /}. See {@code docs/console.md}.
 */
package dev.kubejit.console;
