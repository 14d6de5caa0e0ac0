"""Leaderboard entries: one TOML file per model family, validated before anything runs.

An entry file has a ``name`` (lower-case letters, digits, ``.``, ``_``, ``-``; the file is stored as
``<name>.toml``), an ``author``, a ``description`` and a ``[model]`` table of the model fields the
entry chooses: ``arch`` ("paper_mlp", the default, or a factory ``module:function``, see
rscbench.models.factories), and for the paper's network ``activation``, ``sigma1`` and
``scale_input``. Width, depth, data and protocol belong to the leaderboard suite, the same for
every entry.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rscbench.errors import InvalidArgumentError, RscbenchError
from rscbench.run.specs import ModelSpec
from rscbench.validation import read_text

__all__ = ["ENTRY_MODEL_FIELDS", "Entry", "load_entries", "load_entry", "parse_entry"]

ENTRY_MODEL_FIELDS = ("arch", "activation", "sigma1", "scale_input")
ENTRY_KEYS = ("name", "author", "description", "model")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Entry:
    """One leaderboard entry: who submitted which model family, and the model fields it sets."""

    name: str
    author: str
    description: str
    model: dict[str, Any]

    @property
    def is_factory(self) -> bool:
        """Whether the entry is a user's factory model rather than the paper's network."""
        return ModelSpec(**self.model).is_factory

    def label(self) -> str:
        """The model in a few words: the factory reference, or the paper net's activation and sigma1."""
        spec = ModelSpec(**self.model)
        if spec.is_factory:
            return spec.arch
        text = f"paper_mlp {spec.activation}, sigma1={spec.sigma1:g}"
        return text if spec.scale_input else text + ", no input scaling"


def parse_entry(document: dict[str, Any], source: str) -> Entry:
    """Validate a parsed entry TOML (``source`` names it in errors) and return the Entry.

    Raises InvalidArgumentError naming ``<source>: <field>``, the bad value and what is allowed.
    """
    for key in document:
        if key not in ENTRY_KEYS:
            raise InvalidArgumentError(f"{source}: {key}", document[key], "keys " + ", ".join(ENTRY_KEYS))
    name = document.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"{source}: name",
            name,
            "1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
        )
    for key in ("author", "description"):
        value = document.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgumentError(f"{source}: {key}", value, "a non-empty string")
    model = document.get("model", {})
    if not isinstance(model, dict):
        raise InvalidArgumentError(f"{source}: model", model, "a [model] table")
    for key, value in model.items():
        if key not in ENTRY_MODEL_FIELDS:
            raise InvalidArgumentError(
                f"{source}: model.{key}", value, "model fields " + ", ".join(ENTRY_MODEL_FIELDS)
            )
    values = {key: float(v) if key == "sigma1" and type(v) is int else v for key, v in model.items()}
    try:
        ModelSpec(**values)
    except RscbenchError as error:
        raise InvalidArgumentError(f"{source}: [model]", values, f"valid model fields ({error})") from None
    return Entry(name, document["author"].strip(), document["description"].strip(), values)


def load_entry(path: str | Path) -> Entry:
    """Read and validate one entry TOML file (errors name the file and the field)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidArgumentError("entry", str(path), "an existing entry .toml file")
    text = read_text(path, "entry")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidArgumentError("entry", str(path), f"valid TOML ({error})") from None
    return parse_entry(document, str(path))


def load_entries(folder: str | Path) -> list[Entry]:
    """Every ``*.toml`` entry in ``folder``, sorted by name; names must be unique and match the file names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidArgumentError("entries", str(folder), "a folder of entry .toml files")
    entries = []
    for path in sorted(folder.glob("*.toml")):
        entry = load_entry(path)
        if entry.name != path.stem:
            raise InvalidArgumentError(f"{path}: name", entry.name, f"the file's name, {path.stem!r}")
        entries.append(entry)
    if not entries:
        raise InvalidArgumentError("entries", str(folder), "a folder holding at least one entry .toml file")
    return sorted(entries, key=lambda entry: entry.name)
