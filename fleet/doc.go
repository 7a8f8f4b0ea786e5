// Package fleet holds the force's aircraft and its rules for them: the
// drone registry's records (Drone) and the deployment policy (Policy), a
// small text file that says which drones may fly which classifications of
// operation.
//
// fleet is pure: no database, no gRPC, no clock. The stores keep the
// records; exemptions.Decide reads them through Fleet and refuses a check
// that breaks the policy (Policy.Refusals), so that every consumer of the
// decision (the server, an offline bundle) gives the same answer.
package fleet
