# What an slsa-gate Verification Summary Attestation (SLSA VSA v1) must say for an image to
# be deployed: issued by this gate, about this release repository, PASSED, at the minimum
# SLSA level or higher, and issued within the last max_age_days. For
#   cosign verify-attestation --key gate.pub --type https://slsa.dev/verification_summary/v1 --policy vsa.rego IMAGE
# The input is the in-toto statement whose DSSE signature cosign has verified with --key and
# whose subject names the image's digest: who signed it is cosign's check, not this file's.
# cosign applies the policy to every VSA on the image and fails if any one fails it, so the
# FAILED VSA a revocation attaches fails the image (docs/consumers.md#revoked-images).
# cosign asks for data.signature.allow and passes only when it is `true`; otherwise it is the
# set of reasons, which cosign prints.
package signature

import rego.v1

# ---- Parameters: edit these -----------------------------------------------------------------
# The gate's verifier id (its SLSA_GATE_VERIFIER_ID).
verifier_id := "https://slsa-gate.dev/verifier/v1"

# The release repositories allowed, as the gate names them in the VSA (`oci://HOST/REPO`).
# A mirrored copy carries the VSA of the repository it mirrors: list that one, not the mirror.
resource_uris := {"oci://registry.example/release/app"}

# The minimum level per SLSA track (`SLSA_<TRACK>_LEVEL_<n>`): this level or a higher one passes.
minimum_levels := {"BUILD": 3}

# The oldest VSA accepted, in days before now (the clock of the machine running cosign).
max_age_days := 30

# ---- End of parameters ----------------------------------------------------------------------

allow = true if count(violations) == 0

allow = violations if count(violations) > 0

vsa := object.get(input, "predicate", {})

violations contains sprintf("predicateType is %v, not the SLSA VSA v1", [object.get(input, "predicateType", null)]) if {
	object.get(input, "predicateType", null) != "https://slsa.dev/verification_summary/v1"
}

violations contains sprintf("verifier.id is %v, not %v", [verifier, verifier_id]) if {
	verifier := object.get(vsa, ["verifier", "id"], null)
	verifier != verifier_id
}

violations contains sprintf("resourceUri is %v, not one of %v", [resource, resource_uris]) if {
	resource := object.get(vsa, "resourceUri", null)
	not resource in resource_uris
}

violations contains sprintf("verificationResult is %v, not PASSED", [result]) if {
	result := object.get(vsa, "verificationResult", null)
	result != "PASSED"
}

# VSA v1 §verifiedLevels: `SLSA_<TRACK>_LEVEL_<n>`; levels of one track are ordered by n.
highest_level(track) := max({0} | {to_number(trim_prefix(level, prefix)) |
	prefix := sprintf("SLSA_%s_LEVEL_", [track])
	some level in object.get(vsa, "verifiedLevels", [])
	regex.match(sprintf("^%s[0-9]+$", [prefix]), level)
})

violations contains sprintf("verifiedLevels %v: SLSA_%s_LEVEL_%v is below the minimum SLSA_%s_LEVEL_%v", [levels, track, highest, track, minimum]) if {
	some track, minimum in minimum_levels
	highest := highest_level(track)
	highest < minimum
	levels := object.get(vsa, "verifiedLevels", [])
}

time_verified_ns := time.parse_rfc3339_ns(vsa.timeVerified)

violations contains sprintf("timeVerified %v is not an RFC 3339 time", [object.get(vsa, "timeVerified", null)]) if {
	not time_verified_ns
}

violations contains sprintf("timeVerified %v is more than %v days old", [vsa.timeVerified, max_age_days]) if {
	time.now_ns() - time_verified_ns > ((max_age_days * 24) * 3600) * 1000000000
}
