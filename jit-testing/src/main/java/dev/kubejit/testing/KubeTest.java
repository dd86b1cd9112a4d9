package dev.kubejit.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class or method that needs the shared real control plane: tags it {@code kube} and
 * lets it declare {@link KubeControlPlane} parameters, and {@link KubeNode} parameters for a real
 * node (one per test class, opt-in: no node is started unless a parameter asks for it).
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Tag("kube")
@ExtendWith(KubeControlPlaneExtension.class)
public @interface KubeTest {}
