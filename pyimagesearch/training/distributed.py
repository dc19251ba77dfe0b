"""Training across machines with tf.distribute.MultiWorkerMirroredStrategy (TF_CONFIG).

What Keras 3 and TensorFlow leave to the user: a bounded wait for the other workers, a run that
ends on every worker when one of them is stopped, one worker (the chief) that writes, and a
way around Keras 3's fit failing under this strategy (keras-team/keras#20585).
"""
import contextlib
import hashlib
import json
import os
import signal
import socket
import time

import numpy as np


def cluster_config():
    """(cluster dict, task type, task index) from TF_CONFIG; ({}, "worker", 0) without it."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return {}, "worker", 0
    try:
        config = json.loads(text)
        cluster = config.get("cluster", {})
        task = config.get("task", {})
        return cluster, task.get("type", "worker"), int(task.get("index", 0))
    except (ValueError, AttributeError, TypeError) as e:
        raise ValueError(f"TF_CONFIG is not valid JSON with a cluster and a task ({e}); see "
                         f"the README's multiworker example") from None


def is_chief():
    """Whether this process is the one that writes: the "chief" task if the cluster has one,
    else worker 0 (TensorFlow's own convention)."""
    (cluster, taskType, taskIndex) = cluster_config()
    if "chief" in cluster:
        return taskType == "chief"
    return taskType == "worker" and taskIndex == 0


def unreachable_peers(timeout=1.0):
    """The addresses in TF_CONFIG, other than this task's, that refuse a TCP connection."""
    (cluster, taskType, taskIndex) = cluster_config()
    unreachable = []
    for (job, addresses) in cluster.items():
        for (index, address) in enumerate(addresses):
            if (job, index) == (taskType, taskIndex):
                continue
            (host, _, port) = address.rpartition(":")
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout).close()
            except (OSError, ValueError):
                unreachable.append(address)
    return unreachable


def multiworker_strategy(peerTimeout):
    """MultiWorkerMirroredStrategy that waits at most peerTimeout seconds for the other
    workers of TF_CONFIG (TensorFlow waits forever by default), then raises OSError naming
    the addresses that never answered. Once running, a worker that goes away makes the
    others' next step fail within seconds (TensorFlow's coordination service, whose
    heartbeat and shutdown waits are cut to 10 s here)."""
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    (cluster, _, _) = cluster_config()
    if sum(len(addresses) for addresses in cluster.values()) > 1:
        # the same coordination service the strategy would set up, with bounded waits
        spec = tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec()
        context.context().configure_coordination_service(
            service_type="standalone",
            service_leader=multi_worker_util.coordination_leader(spec),
            coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name=job,
                                                                     num_tasks=len(cluster[job]))
                              for job in ("chief", "worker") if job in cluster],
            cluster_register_timeout_in_ms=int(peerTimeout * 1000),
            heartbeat_timeout_in_ms=10000, shutdown_barrier_timeout_in_ms=10000)
        if is_chief():
            # the service's leader would wait for the others without a limit: wait here
            deadline = time.monotonic() + peerTimeout
            while unreachable_peers() and time.monotonic() < deadline:
                time.sleep(0.5)
            _raise_if_unreachable(peerTimeout)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except tf.errors.OpError:
        _raise_if_unreachable(peerTimeout)
        raise
    # TensorFlow's coordination service swallows SIGTERM once the strategy exists: give
    # SIGTERM and Ctrl-C back to this script, which ends the run at once on this worker (the
    # others then find it gone and end too)
    signal.signal(signal.SIGTERM, _abort)
    signal.signal(signal.SIGINT, _abort)
    return strategy


def _raise_if_unreachable(peerTimeout):
    missing = unreachable_peers()
    if missing:
        raise OSError(f"no answer from {', '.join(missing)} after {peerTimeout:g} s; start "
                      f"the same command on every worker of TF_CONFIG")


def _abort(signum, frame):
    raise KeyboardInterrupt


def work_around_keras_fit(trainer, dataset):
    """Let Keras 3's fit and evaluate run trainer under MultiWorkerMirroredStrategy.

    Two problems of Keras 3.15 under this strategy (keras-team/keras#20585), worked around on
    this one model; remove once Keras fixes them:
    - before the first step, fit and evaluate average one distributed data batch across the
      workers to build the model (Trainer._maybe_symbolic_build), which fails ("Attempt to
      convert a value (PerReplica:{...}) to a Tensor"). The build needs only shapes and dtypes,
      so it is given the dataset's element spec instead;
    - after every step, the per-replica logs are averaged with strategy.reduce("MEAN", axis=0),
      which fails on the scalar metrics ("Invalid reduction dimension 0 for input with 0
      dimensions"). The steps return each figure as a one-element vector instead; the figures
      are already the same on every replica, so their mean is the figure itself.
    """
    import tensorflow as tf

    spec = dataset.element_spec
    build = trainer._maybe_symbolic_build

    def build_from_spec(iterator=None, data_batch=None):
        return build(data_batch=spec)

    def as_vectors(step):
        def vectorised_step(data):
            return {name: tf.reshape(value, [1]) for (name, value) in step(data).items()}
        return vectorised_step

    trainer._maybe_symbolic_build = build_from_spec
    trainer.train_step = as_vectors(trainer.train_step)
    trainer.test_step = as_vectors(trainer.test_step)


def shard_by_data(dataset):
    """The dataset with tf.data's DATA auto-sharding: every worker walks the same batches (the
    same seed draws the same pairs and order) and keeps its own share of each."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return dataset.with_options(options)


def weights_checksum(model):
    """A short hex digest of the model's weights, the same on workers that agree."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight, np.float32).tobytes())
    return digest.hexdigest()[:16]



def task_name():
    """This process's task in TF_CONFIG, as a name: "worker1", "chief0"."""
    (_, taskType, taskIndex) = cluster_config()
    return f"{taskType}{taskIndex}"


def positions_of_workers(strategy, position):
    """Every worker's (epochs, steps) position, gathered across the cluster: each worker
    passes its own and gets them all (a collective: every worker must call it)."""
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync

    # each replica puts its position in its own row, the sum across them fills them all
    # (all_gather fails on CPU workers: "destinations can not be empty")
    def gather(value):
        context = tf.distribute.get_replica_context()
        rows = tf.one_hot(context.replica_id_in_sync_group, replicas, dtype=tf.int64)
        return context.all_reduce("SUM", rows[:, None] * value[None, :])

    gathered = strategy.run(tf.function(gather), args=(tf.constant(position, tf.int64),))
    rows = strategy.experimental_local_results(gathered)[0].numpy().tolist()
    return [tuple(row) for row in rows]


def prepare_for_multiworker(trainer, trainData, validationData):
    """Shard both datasets by data and let Keras's fit run trainer across the workers; returns
    the sharded (trainData, validationData)."""
    (trainData, validationData) = (shard_by_data(trainData), shard_by_data(validationData))
    work_around_keras_fit(trainer, trainData)
    return trainData, validationData


@contextlib.contextmanager
def worker_departures(enabled=True):
    """Turn another worker leaving the run (TensorFlow's Unavailable, Aborted or Cancelled
    errors) into one OSError line saying how to go on; off for one-machine runs."""
    import tensorflow as tf

    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.AbortedError,
            tf.errors.CancelledError) as e:
        if not enabled:
            raise
        reason = str(e).strip().splitlines()[0][:200]
        raise OSError(f"another worker left the run ({reason}); the model was not saved (the "
                      f"previous one stays), the run's last save is kept: start every worker "
                      f"again with the same command plus --resume") from None
