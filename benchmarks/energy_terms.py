"""What each part of a network's U_ij is for a few crystals: the regressor's share and each energy term's.

    python -m benchmarks.energy_terms --model runs/mp-all-seed0/model --ids mp-48 mp-2815 mp-149

A network's U (meV/atom) is ``sed_mean + sed_std * (regressor + terms)`` (its ``NormalizationStats``). Prints, in
normalised units, the regressor's output and every energy term of the first network for the strain states xx, zz,
yz and xx+zz of each crystal (structure from the bundled data, canonical frame: unique axis along z), and the U they
add up to. One thread.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks._common import load_model, named_tensor_records
from stn_plugin.physics.voigt import VOIGT_PAIRS
from stn_plugin.structure.canonical import canonicalize

STATES: tuple[tuple[int, int], ...] = ((0, 0), (2, 2), (3, 3), (0, 2))
TERMS: tuple[str, ...] = ("bond_energy", "angle_energy", "volume_energy", "atom_stiffness")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="stn-mp-2023-fast", help="registry name or model folder")
    parser.add_argument("--ids", nargs="+", default=["mp-48", "mp-2815", "mp-149"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    model.class_representatives = False  # one strained graph per state: the terms of every state, as computed
    network, statistics = model.networks[0], model.statistics[0]
    records = named_tensor_records(args.ids)
    rows = [VOIGT_PAIRS.index(state) for state in STATES]
    print(f"{args.model}: sed_mean {statistics.sed_mean:.2f}, sed_std {statistics.sed_std:.2f} meV/atom")
    print("| crystal | part | " + " | ".join(f"{i + 1}{j + 1}" for i, j in STATES) + " |")
    print("|---|---|" + "---|" * len(STATES))
    for material_id in args.ids:
        if material_id not in records:
            continue
        structure = canonicalize(records[material_id].structure).structure
        model.predict_structure(structure)
        features = network.feature_dict
        with torch.inference_mode():
            parts = {"regressor": network.regressor(features["dcv"], features["pooled_reg"]).squeeze(-1)}
        parts.update({name: features[name] for name in TERMS if name in features})
        total = sum(parts.values())
        parts["U (meV/atom)"] = statistics.sed_mean + statistics.sed_std * total
        label = f"{records[material_id].formula} {material_id}"
        for name, values in parts.items():
            print(f"| {label} | {name} | " + " | ".join(f"{values[k].item():.3f}" for k in rows) + " |")


if __name__ == "__main__":
    main()
