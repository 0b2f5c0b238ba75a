package io.edgegate.k3s;

/** A kustomization that cannot be rendered. */
final class ManifestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ManifestException(String message) {
        super(message);
    }
}
