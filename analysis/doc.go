// Package analysis is a chain analyst that knows KPP: given what the chain
// shows of a payjoin (input amounts, output amounts, network fee) and the
// rules a protocol-aware observer knows (the relay node's fee rule, the
// split range, the sender's change reserve), it enumerates every reading of
// the transaction that fits those rules, ranks them with a stated prior, and
// says what is certain.
//
// A reading assigns the roles: which input is the sender's coin S (the other
// is the receiver's coin R), which output is the node fee F, which is the
// sender's change, and which two outputs are the receiver's pair. The pair
// sums to R + P, so each reading names a payment P. With two inputs and four
// outputs there are 24 assignments; [Analyze] keeps those that fit:
//
//   - P > 0;
//   - F fits the fee rule: today's rule ties F to P (F = ceil((P + fee_min) /
//     fee_unit) × fee_unit − P), the Python original takes F = P mod fee_unit
//     out of the payment, and a node that announces fee_max lets the sender
//     draw F from [fee_min, fee_max], whatever P is;
//   - the pair's split is within the split range;
//   - the sender's coin holds at least P + F + the change reserve.
//
// The mass budget is not a rule of readings: the transaction's mass does not
// depend on who owns which output.
//
// Readings are weighted by a [Prior] on P (round payments are likelier:
// multiples of 100, 10, 1, 0.5 and 0.1 KAS; smaller payments are likelier,
// log-uniform), times the likelihood of the observed split under a uniform
// split (1 / the pair's sum). The [Report] says whether P, the sender's input
// and the node fee output are certain (every reading agrees), and the top
// guess of P (the payment with the most posterior weight).
//
// Amounts are integer sompi throughout; floating point is used only for the
// weights, which are probabilities, never for an amount.
//
// The analyst never misses the true reading of a transaction made under the
// rules it is given: kloakbench privacy checks that on every payjoin it
// builds, and PRIVACY.md records what the analyst learns from kloak's
// payjoins.
package analysis
