"""images.yaml round trip: comments, order and quoting of an existing file survive edits."""

from __future__ import annotations

import pytest

from e2e_images.publish.files import PublishInputError
from e2e_images.publish.images_yaml import ImagesYaml

A, B, C, D = (f"sha256:{c * 64}" for c in "abcd")

EXISTING = f"""\
# Managed by the promoter; keep sorted.
- name: agnhost  # the multi-command test binary
  dmap:
    "{A}": ["2.9"]
    # 2.47 and its respin
    "{B}": ["2.47", "2.47.1"]
- name: nginx
  dmap:
    "{C}": ["1.14-alpine"]
"""


def test_edits_keep_comments_order_and_style() -> None:
    doc = ImagesYaml.parse(EXISTING, source="images.yaml")
    assert doc.digest_of("agnhost", "2.47.1") == B
    assert doc.add("agnhost", D, "2.52")
    assert doc.add("kitten", C, "1.7")  # inserted in name order
    assert doc.add("nginx", C, "1.14-alpine-1")  # another tag on a known digest
    assert not doc.add("agnhost", A, "2.9")  # already there: no change
    text = doc.dumps()
    assert text == f"""\
# Managed by the promoter; keep sorted.
- name: agnhost  # the multi-command test binary
  dmap:
    "{A}": ["2.9"]
    # 2.47 and its respin
    "{B}": ["2.47", "2.47.1"]
    "{D}": ["2.52"]
- name: kitten
  dmap:
    "{C}": ["1.7"]
- name: nginx
  dmap:
    "{C}": ["1.14-alpine", "1.14-alpine-1"]
"""
    assert ImagesYaml.parse(text).entries() == doc.entries()


def test_unsorted_file_gets_new_names_appended() -> None:
    doc = ImagesYaml.parse(f'- name: zeta\n  dmap:\n    "{A}": ["1"]\n'
                           f'- name: alpha\n  dmap:\n    "{B}": ["1"]\n')
    doc.add("beta", C, "1")
    assert doc.names() == ("zeta", "alpha", "beta")


def test_a_held_tag_is_never_overwritten() -> None:
    doc = ImagesYaml.parse(EXISTING)
    with pytest.raises(ValueError, match=f"agnhost:2.9 is held by {A}"):
        doc.add("agnhost", D, "2.9")


def test_empty_document() -> None:
    doc = ImagesYaml.parse("")
    assert doc.entries() == () and doc.dumps() == ""
    doc.add("busybox", A, "1.36.1-1")
    assert doc.dumps() == f'- name: busybox\n  dmap:\n    "{A}": ["1.36.1-1"]\n'


@pytest.mark.parametrize(("text", "message", "line"), [
    ("name: x\n", "must be a list", 1),
    ("- dmap: {}\n", "without a `name:`", 1),
    (f'- name: a\n  dmap:\n    "{A}": ["1"]\n- name: a\n', "listed twice", 4),
    ('- name: a\n  dmap:\n    "sha256:zz": ["1"]\n', "is not a digest", 1),
    (f'- name: a\n  dmap:\n    "{A}": "1"\n', "list of tags", 1),
    (f'- name: a\n  dmap:\n    "{A}": ["1"]\n    "{B}": ["1"]\n', "listed for both", 1),
    ("- name: [\n", "not valid YAML", 2),
])
def test_malformed_files_are_input_errors(text, message, line) -> None:
    with pytest.raises(PublishInputError, match=message) as info:
        ImagesYaml.parse(text, source="k8s.io/images.yaml")
    assert info.value.path == "k8s.io/images.yaml" and info.value.line == line
    assert info.value.exit_code == 2
