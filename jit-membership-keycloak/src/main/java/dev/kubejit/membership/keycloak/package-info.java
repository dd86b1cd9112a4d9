/**
 * Keycloak adapter for {@link dev.kubejit.api.spi.MembershipProvisioner}: per-grant groups over
 * the admin REST API, so short-lived OIDC tokens carry a grant's group only while it lasts.
 */
package dev.kubejit.membership.keycloak;
