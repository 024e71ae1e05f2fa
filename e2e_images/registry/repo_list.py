"""Registry overrides in the spirit of Kubernetes' `KUBE_TEST_REPO_LIST`, as mirror-map prefixes.

The e2e framework reads a YAML file of registry keys mapped to replacement registries:

    dockerLibraryRegistry: registry.example/library
    promoterE2eRegistry: registry.example/e2e-test-images
    gcRegistry: registry.example/k8s

Each known key stands for an upstream prefix (`KEY_PREFIXES`); the map sends that prefix to
the replacement, so `docker.io/library/busybox:1.36.1` is pulled from
`registry.example/library/busybox:1.36.1`. Keys that are themselves registry prefixes
(`mcr.microsoft.com: ...`) pass through unchanged, so one file may mix both forms, and a
plain mirror-map file is read as it always was. Pure: `mirrors.load` reads the file.
"""

from __future__ import annotations

from collections.abc import Mapping

from e2e_images.registry.reference import ReferenceError, host_of, is_registry_host

__all__ = ["KEY_PREFIXES", "is_repo_list", "upstream_prefixes"]


# The test framework's registry keys and the upstream prefix each one stands for.
KEY_PREFIXES: Mapping[str, str] = {
    "dockerLibraryRegistry": "docker.io/library",
    "dockerGluster": "docker.io/gluster",
    "promoterE2eRegistry": "registry.k8s.io/e2e-test-images",
    "buildImageRegistry": "registry.k8s.io/build-image",
    "sigStorageRegistry": "registry.k8s.io/sig-storage",
    "cloudProviderGcpRegistry": "registry.k8s.io/cloud-provider-gcp",
    "gcEtcdRegistry": "registry.k8s.io/etcd",
    "gcRegistry": "registry.k8s.io",
    "gcAuthenticatedRegistry": "gcr.io/authenticated-image-pulling",
    "privateRegistry": "gcr.io/k8s-authenticated-test",
    "invalidRegistry": "invalid.registry.k8s.io/invalid",
    "e2eRegistry": "gcr.io/kubernetes-e2e-test-images",
    "e2eVolumeRegistry": "gcr.io/kubernetes-e2e-test-images/volume",
    "quayIncubator": "quay.io/kubernetes_incubator",
    "quayK8sCSI": "quay.io/k8scsi",
    "sampleRegistry": "gcr.io/google-samples",
    "microsoftRegistry": "mcr.microsoft.com",
    "stagingE2eRegistry": "gcr.io/k8s-staging-e2e-test-images",
}


def is_repo_list(mapping: Mapping[object, object]) -> bool:
    """True when any key is a framework registry key rather than a registry prefix."""
    return any(isinstance(k, str) and k in KEY_PREFIXES for k in mapping)


def upstream_prefixes(mapping: Mapping[str, str], *, source: str = "<repo list>"
                      ) -> dict[str, str]:
    """Known keys become their upstream prefix; other keys must be registry prefixes."""
    translated: dict[str, str] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ReferenceError(f"registry override key {key!r} is not a string", path=source)
        if key not in KEY_PREFIXES and not is_registry_host(host_of(key)):
            raise ReferenceError(f"unknown registry key {key!r}", path=source,
                                 hint=f"known keys: {', '.join(sorted(KEY_PREFIXES))}")
        translated[KEY_PREFIXES.get(key, key)] = value
    return translated

