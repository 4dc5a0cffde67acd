// Command replay measures how fast flor replays a recorded run of the MNIST
// example (examples/mnist) to fill in a new log statement, against the
// time the run took when it was recorded.
//
//	go run ./bench/replay                              # defaults: a run of about 33 s
//	go run ./bench/replay -repeat 2                    # the fastest of two replays of each kind
//	go run ./bench/replay -epochs 2 -train_size 10000  # a quicker look
//	go run ./bench/replay -levels outer                # one level only
//
// It lays out a scratch git project holding the example, builds the flor
// command, records one run of the example (timed from the outside), and
// then, as a user would, adds one flor.Log statement at a time to the
// working tree and times `flor replay --yes --workers W NAME` from its start
// to its exit:
//
//   - prefix level: flor.Log("n_train", train.N) before the main loop; the
//     replay then builds the version and runs its prefix only, which
//     calibrates the fixed cost of a replay;
//   - outer level: flor.Log("acc_top", mlp.Evaluate(model, test)) at the top
//     of the epoch loop; the step loop is skipped and its effects restored
//     from the run's checkpoints. Target: replay / original ≤ 0.10 for runs
//     of 30 s or more;
//   - nested level: flor.Log("loss_x", loss*2) inside the step loop, which
//     must then run, with the epochs split across W workers. Target:
//     replay / original ≤ 1.15/W (VLDB'21 measured 0.24–0.27 at W = 4).
//
// With -cached (the default) the bench then records a 1-epoch run of the
// same code, whose version is the first run's, and replays the prefix
// statement again: only the new run lacks it, and its version comes out of
// flor's version cache, built by the first prefix replay. The report's
// "cached" rows and its "version cached" line give that fixed cost, with
// its phases (plan, copying the cached version, run, ingest).
//
// With -single (the default) the outer and nested replays are also run with
// one worker, for the speed-up. Each replay's time is broken into phases
// from the progress lines flor prints as it goes (planning, materialising
// the snapshot, propagating and instrumenting, building, running the
// workers, ingesting the results), and its estimate, printed by flor in the
// schedule and the final per-run line, is set against the actual time.
//
// Every replay is checked, so a fast wrong replay cannot pass: acc_top at
// epoch e must equal val_acc of epoch e-1 bit for bit (the model at the top
// of an epoch is the one evaluated at the end of the one before), loss_x
// must be logged at every step and equal twice the recorded loss wherever
// loss was logged, and n_train must equal the training size.
//
// Other processes only ever add time. With -repeat N each replay runs N
// times (under fresh names, since a name is replayed only once) and the
// fastest counts; the CPU time of each process tree is printed beside its
// wall time.
//
// It is not a test: it prints figures and asserts nothing about speed.
package main
