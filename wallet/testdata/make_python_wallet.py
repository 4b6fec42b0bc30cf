#!/usr/bin/python3
"""Write Python kloak node wallet fixtures for wallet/python_test.go.

The files are laid out exactly as the Python node's save_wallet writes them
(kloak-v1-python.md section 6.5):

    salt (16 bytes) || nonce (12 bytes) || ChaCha20-Poly1305(ciphertext || tag)

with key = scrypt(password, salt, N=2^14, r=8, p=1, dkLen=32), no associated
data, and the plaintext json.dumps(..., indent=2) of the node's wallet dict.
The keys are the node's own (non-standard) derivation of the test mnemonic,
from kloak_legacy.json (vectors computed by the original Python functions).

Salt and nonce are fixed here so that re-running the script reproduces the
checked-in files byte for byte; the node itself draws them at random.

Run from anywhere with Debian's interpreter and python3-cryptography:

    /usr/bin/python3 wallet/testdata/make_python_wallet.py

Outputs, next to this script:
    python_wallet.enc           consistent wallet, 3 addresses
    python_wallet_mismatch.enc  same, but entry 1 stores the address of entry 2
"""

import hashlib
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

PASSWORD = "kloak-v1-fixture-password"
HERE = os.path.dirname(os.path.abspath(__file__))


def wallet_dict(vectors):
    created = "2025-01-01T12:00:00.000000"
    addresses = []
    for k in vectors["keys"]:
        entry = {
            "index": k["index"],
            "address": k["address"],
            "private_key": k["priv"],
            "used": False,
            "purpose": None,
            "created_at": created,
        }
        addresses.append(entry)
    # create_wallet marks index 0 used for the node itself (section 6.1).
    addresses[0]["used"] = True
    addresses[0]["used_at"] = created
    addresses[0]["purpose"] = "node_primary"
    addresses[1]["used"] = True
    addresses[1]["used_at"] = created
    addresses[1]["purpose"] = "dust_collection"
    return {
        "mnemonic": vectors["mnemonic"],
        "master_seed": vectors["bip39_seed_hex"],
        "addresses": addresses,
        "xpub": "kpp_xpub_" + "ab" * 32,
        "current_index": 0,
        "highest_used_index": 1,
        "pulse_source_index": 0,
        "created_at": created,
        "last_saved": created,
        "version": "1.0.0",
    }


def encrypt(data, salt, nonce):
    plaintext = json.dumps(data, indent=2).encode("utf-8")
    key = hashlib.scrypt(PASSWORD.encode("utf-8"), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return salt + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, None)


def main():
    with open(os.path.join(HERE, "kloak_legacy.json")) as f:
        vectors = json.load(f)
    salt = bytes(range(16))
    nonce = bytes(range(100, 112))

    good = wallet_dict(vectors)
    with open(os.path.join(HERE, "python_wallet.enc"), "wb") as f:
        f.write(encrypt(good, salt, nonce))

    bad = wallet_dict(vectors)
    bad["addresses"][1]["address"] = bad["addresses"][2]["address"]
    with open(os.path.join(HERE, "python_wallet_mismatch.enc"), "wb") as f:
        f.write(encrypt(bad, salt, nonce))


if __name__ == "__main__":
    main()
