"""`tf.train.MonitoredTrainingSession` / `MonitoredSession` with session run hooks (TF1).

A MonitoredSession wraps a Session: it initializes variables through a `Scaffold` (or
restores the newest checkpoint in `checkpoint_dir`), starts the queue runners with a
Coordinator, and calls hooks around every `run`: `before_run` may add fetches and feeds,
`after_run` sees their values and may request a stop. `OutOfRangeError` (an exhausted input
pipeline) stops the session cleanly: `should_stop()` turns True and the `with` block
swallows the error, as in TF. Summary-writing hooks are not provided.

Hooks: StopAtStepHook, CheckpointSaverHook, LoggingTensorHook, NanTensorHook, FeedFnHook,
FinalOpsHook, StepCounterHook (logs steps/sec).
"""
from __future__ import annotations

import collections
import logging
import os
import time

import numpy as np

from . import graph as graph_mod
from .errors import OutOfRangeError

logger = logging.getLogger("fuseflow")


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunValues(collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])):
    pass


class SessionRunContext:
    def __init__(self, original_args, session):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self):
        return self._original_args

    @property
    def session(self):
        return self._session

    @property
    def stop_requested(self):
        return self._stop_requested

    def request_stop(self):
        self._stop_requested = True


class SessionRunHook:
    def begin(self):
        pass

    def after_create_session(self, session, coord):
        pass

    def before_run(self, run_context):
        return None

    def after_run(self, run_context, run_values):
        pass

    def end(self, session):
        pass


class SecondOrStepTimer:
    """Triggers every `every_secs` seconds or every `every_steps` steps."""

    def __init__(self, every_secs=None, every_steps=None):
        if (every_secs is None) == (every_steps is None):
            raise ValueError("exactly one of every_secs and every_steps must be provided")
        self._every_secs, self._every_steps = every_secs, every_steps
        self._last_time = self._last_step = None

    def should_trigger_for_step(self, step):
        if self._last_step is None:
            return True
        if self._last_step == step:
            return False
        if self._every_secs is not None:
            return time.time() >= self._last_time + self._every_secs
        return step >= self._last_step + self._every_steps

    def update_last_triggered_step(self, step):
        now = time.time()
        elapsed = (None, None) if self._last_time is None else (now - self._last_time, step - self._last_step)
        self._last_time, self._last_step = now, step
        return elapsed

    def last_triggered_step(self):
        return self._last_step


def _global_step_tensor():
    from .train.training_util import get_global_step
    step = get_global_step()
    if step is None:
        raise RuntimeError("Global step should be created to use this hook (tf.train.get_or_create_global_step()).")
    return step


class StopAtStepHook(SessionRunHook):
    """Request a stop after `num_steps` more steps or once the global step reaches `last_step`."""

    def __init__(self, num_steps=None, last_step=None):
        if (num_steps is None) == (last_step is None):
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and num_steps < 0:
            raise ValueError("Number of steps cannot be negative.")
        self._num_steps, self._last_step = num_steps, last_step

    def begin(self):
        self._global_step = _global_step_tensor()

    def after_create_session(self, session, coord):
        if self._last_step is None:
            self._last_step = int(session.run(self._global_step)) + self._num_steps

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values):
        if int(run_values.results) + 1 >= self._last_step:
            if int(run_context.session.run(self._global_step)) >= self._last_step:
                run_context.request_stop()


class CheckpointSaverHook(SessionRunHook):
    """Save a checkpoint at the start, every `save_secs`/`save_steps`, and at the end."""

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, saver=None,
                 checkpoint_basename="model.ckpt", scaffold=None, listeners=None, save_graph_def=True):
        self._dir = checkpoint_dir
        self._path = os.path.join(checkpoint_dir, checkpoint_basename)
        self._saver, self._scaffold = saver, scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._listeners = list(listeners or [])

    def begin(self):
        self._global_step = _global_step_tensor()
        for lst in self._listeners:
            lst.begin()

    def _get_saver(self):
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None and self._scaffold.saver is not None:
            return self._scaffold.saver
        savers = graph_mod.get_default_graph().get_collection("savers")
        if savers:
            return savers[0]
        from .saver import Saver
        self._saver = Saver()
        return self._saver

    def after_create_session(self, session, coord):
        os.makedirs(self._dir, exist_ok=True)
        step = int(session.run(self._global_step))
        self._save(session, step)
        self._timer.update_last_triggered_step(step)

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values):
        step = int(run_context.session.run(self._global_step))
        if self._timer.should_trigger_for_step(step):
            self._timer.update_last_triggered_step(step)
            if self._save(run_context.session, step):
                run_context.request_stop()

    def end(self, session):
        step = int(session.run(self._global_step))
        if step != self._timer.last_triggered_step():
            self._save(session, step)
        for lst in self._listeners:
            lst.end(session, step)

    def _save(self, session, step):
        for lst in self._listeners:
            lst.before_save(session, step)
        self._get_saver().save(session, self._path, global_step=step)
        stop = False
        for lst in self._listeners:
            stop = bool(lst.after_save(session, step)) or stop
        return stop


class CheckpointSaverListener:
    def begin(self):
        pass

    def before_save(self, session, global_step_value):
        pass

    def after_save(self, session, global_step_value):
        pass

    def end(self, session, global_step_value):
        pass


class LoggingTensorHook(SessionRunHook):
    """Log the values of `tensors` every N steps / seconds (with logging.info)."""

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False, formatter=None):
        if not isinstance(tensors, dict):
            tensors = {getattr(t, "name", str(t)): t for t in tensors}
        self._tensors = tensors
        self._formatter = formatter
        self._at_end = at_end
        self._timer = None if (every_n_iter is None and every_n_secs is None) else \
            SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter)
        self._iter = 0

    def before_run(self, run_context):
        self._should_log = self._timer is not None and self._timer.should_trigger_for_step(self._iter)
        return SessionRunArgs(self._tensors) if self._should_log else None

    def _log(self, values):
        if self._formatter is not None:
            logger.info(self._formatter(values))
        else:
            logger.info(", ".join(f"{k} = {v}" for k, v in values.items()))

    def after_run(self, run_context, run_values):
        if self._should_log:
            self._timer.update_last_triggered_step(self._iter)
            self._log(run_values.results)
        self._iter += 1

    def end(self, session):
        if self._at_end:
            self._log(session.run(self._tensors))


class NanLossDuringTrainingError(RuntimeError):
    def __str__(self):
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    def __init__(self, loss_tensor, fail_on_nan_loss=True):
        self._loss, self._fail = loss_tensor, fail_on_nan_loss

    def before_run(self, run_context):
        return SessionRunArgs(self._loss)

    def after_run(self, run_context, run_values):
        if np.isnan(run_values.results):
            if self._fail:
                raise NanLossDuringTrainingError
            logger.warning("Model diverged with loss = NaN.")
            run_context.request_stop()


class FeedFnHook(SessionRunHook):
    def __init__(self, feed_fn):
        self._feed_fn = feed_fn

    def before_run(self, run_context):
        return SessionRunArgs(fetches=None, feed_dict=self._feed_fn())


class FinalOpsHook(SessionRunHook):
    def __init__(self, final_ops, final_ops_feed_dict=None):
        self._final_ops, self._feed = final_ops, final_ops_feed_dict
        self._final_ops_values = None

    @property
    def final_ops_values(self):
        return self._final_ops_values

    def end(self, session):
        if self._final_ops is not None:
            self._final_ops_values = session.run(self._final_ops, feed_dict=self._feed)


class StepCounterHook(SessionRunHook):
    """Logs global steps per second every N steps (TF also writes a summary; fuseflow only logs)."""

    def __init__(self, every_n_steps=100, every_n_secs=None, output_dir=None, summary_writer=None):
        self._timer = SecondOrStepTimer(every_secs=every_n_secs,
                                        every_steps=None if every_n_secs is not None else every_n_steps)

    def begin(self):
        self._global_step = _global_step_tensor()

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values):
        step = int(run_values.results)
        if self._timer.should_trigger_for_step(step):
            secs, steps = self._timer.update_last_triggered_step(step)
            if secs:
                logger.info("global_step/sec: %g", steps / secs)


# ------------------------------------------------------------------------------ scaffold
class Scaffold:
    """What a MonitoredSession needs to make a session ready: init ops, a saver, an init_fn."""

    def __init__(self, init_op=None, init_feed_dict=None, init_fn=None, ready_op=None,
                 ready_for_local_init_op=None, local_init_op=None, summary_op=None, saver=None,
                 copy_from_scaffold=None, local_init_feed_dict=None):
        self._init_op, self._init_feed_dict, self._init_fn = init_op, init_feed_dict, init_fn
        self._ready_op, self._local_init_op, self._saver = ready_op, local_init_op, saver
        self._local_init_feed_dict = local_init_feed_dict
        self._summary_op = summary_op

    def finalize(self):
        from .control_flow import group
        from .variables import (global_variables, global_variables_initializer, local_variables_initializer,
                                report_uninitialized_variables, tables_initializer)
        if self._init_op is None:
            self._init_op = global_variables_initializer()
        if self._ready_op is None:
            self._ready_op = report_uninitialized_variables()
        if self._local_init_op is None:
            self._local_init_op = group(local_variables_initializer(), tables_initializer())
        if self._saver is None and global_variables():
            from .saver import Saver
            savers = graph_mod.get_default_graph().get_collection("savers")
            self._saver = savers[0] if savers else Saver()
        return self

    init_op = property(lambda self: self._init_op)
    init_feed_dict = property(lambda self: self._init_feed_dict)
    init_fn = property(lambda self: self._init_fn)
    ready_op = property(lambda self: self._ready_op)
    local_init_op = property(lambda self: self._local_init_op)
    saver = property(lambda self: self._saver)
    summary_op = property(lambda self: self._summary_op)


class ChiefSessionCreator:
    """Creates a Session, restores the newest checkpoint or runs the init ops, runs local init."""

    def __init__(self, scaffold=None, master="", config=None, checkpoint_dir=None,
                 checkpoint_filename_with_path=None):
        self._scaffold = scaffold or Scaffold()
        self._config = config
        self._checkpoint_dir = checkpoint_dir
        self._checkpoint_path = checkpoint_filename_with_path

    def create_session(self):
        from .saver import latest_checkpoint
        from .session import Session
        self._scaffold.finalize()
        sess = Session(config=self._config)
        path = self._checkpoint_path or (latest_checkpoint(self._checkpoint_dir) if self._checkpoint_dir else None)
        if path is not None and self._scaffold.saver is not None:
            self._scaffold.saver.restore(sess, path)
        else:
            sess.run(self._scaffold.init_op, feed_dict=self._scaffold.init_feed_dict)
            if self._scaffold.init_fn is not None:
                self._scaffold.init_fn(self._scaffold, sess)
        sess.run(self._scaffold.local_init_op, feed_dict=self._scaffold._local_init_feed_dict)
        return sess


WorkerSessionCreator = ChiefSessionCreator


# ------------------------------------------------------------------------------ sessions
class MonitoredSession:
    """A Session driven by hooks (see the module docstring)."""

    def __init__(self, session_creator=None, hooks=None, stop_grace_period_secs=120):
        from .queues import Coordinator, start_queue_runners
        self._hooks = list(hooks or [])
        for h in self._hooks:
            h.begin()
        self._graph = graph_mod.get_default_graph()
        creator = session_creator or ChiefSessionCreator()
        self._sess = creator.create_session()
        self._coord = Coordinator(clean_stop_exception_types=(OutOfRangeError, StopIteration))
        self._threads = start_queue_runners(sess=self._sess, coord=self._coord)
        self._grace = stop_grace_period_secs
        self._stop = False
        self._closed = False
        for h in self._hooks:
            h.after_create_session(self._sess, self._coord)

    @property
    def graph(self):
        return self._graph

    def should_stop(self) -> bool:
        return self._stop or self._coord.should_stop()

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self.should_stop():
            raise RuntimeError("Run called even after should_stop requested.")
        context = SessionRunContext(SessionRunArgs(fetches, feed_dict, options), self._sess)
        extra = {}
        feeds = dict(feed_dict or {})
        for i, h in enumerate(self._hooks):
            args = h.before_run(context)
            if args is not None:
                if args.fetches is not None:
                    extra[i] = args.fetches
                for k, v in (args.feed_dict or {}).items():
                    if k in feeds:
                        raise RuntimeError(f"Same tensor is fed by a SessionRunHook and user. {k!r}")
                    feeds[k] = v
        try:
            results = self._sess.run({"caller": fetches, "hooks": extra}, feed_dict=feeds, options=options,
                                     run_metadata=run_metadata)
        except OutOfRangeError as e:
            self._coord.request_stop(e)
            self._stop = True
            raise
        for i, h in enumerate(self._hooks):
            h.after_run(context, SessionRunValues(results["hooks"].get(i), options, run_metadata))
        if context.stop_requested:
            self._stop = True
        return results["caller"]

    def run_step_fn(self, step_fn):
        class _StepContext:
            def __init__(inner):
                inner.session = self
            def run_with_hooks(inner, *args, **kwargs):  # noqa: N805
                return self.run(*args, **kwargs)
            def request_stop(inner):  # noqa: N805
                self._stop = True
        return step_fn(_StepContext())

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            for h in self._hooks:
                h.end(self._sess)
        finally:
            self._coord.request_stop()
            try:
                self._coord.join(self._threads, stop_grace_period_secs=self._grace, ignore_live_threads=True)
            finally:
                self._sess.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type in (OutOfRangeError, StopIteration):
            exc_type = None
        if exc_type is None:
            self.close()
        else:
            self._closed = True
            self._coord.request_stop()
            self._sess.close()
        return exc_type is None


class SingularMonitoredSession(MonitoredSession):
    def __init__(self, hooks=None, scaffold=None, master="", config=None, checkpoint_dir=None,
                 stop_grace_period_secs=120, checkpoint_filename_with_path=None):
        super().__init__(ChiefSessionCreator(scaffold, master, config, checkpoint_dir, checkpoint_filename_with_path),
                         hooks, stop_grace_period_secs)

    def raw_session(self):
        return self._sess


_DEFAULT = object()


def MonitoredTrainingSession(master="", is_chief=True, checkpoint_dir=None, scaffold=None, hooks=None,  # noqa: N802
                             chief_only_hooks=None, save_checkpoint_secs=_DEFAULT, save_summaries_steps=_DEFAULT,
                             save_summaries_secs=_DEFAULT, config=None, stop_grace_period_secs=120,
                             log_step_count_steps=100, max_wait_secs=7200, save_checkpoint_steps=_DEFAULT,
                             summary_dir=None, save_graph_def=True):
    """A MonitoredSession for training: checkpoints to `checkpoint_dir` (every 600 s by default,
    or `save_checkpoint_steps`), restores from it on start. Summaries are not written."""
    scaffold = scaffold or Scaffold()
    all_hooks = list(hooks or []) + (list(chief_only_hooks or []) if is_chief else [])
    if is_chief and checkpoint_dir:
        steps = None if save_checkpoint_steps is _DEFAULT else save_checkpoint_steps
        secs = None if save_checkpoint_secs is _DEFAULT else save_checkpoint_secs
        if steps is None and secs is None and save_checkpoint_steps is _DEFAULT and save_checkpoint_secs is _DEFAULT:
            secs = 600
        if steps is not None or secs is not None:
            all_hooks.append(CheckpointSaverHook(checkpoint_dir, save_secs=secs, save_steps=steps, scaffold=scaffold))
    return MonitoredSession(ChiefSessionCreator(scaffold, master, config, checkpoint_dir), all_hooks,
                            stop_grace_period_secs)


TRAIN_EXPORTS = {n: globals()[n] for n in (
    "SessionRunArgs", "SessionRunValues", "SessionRunContext", "SessionRunHook", "SecondOrStepTimer",
    "StopAtStepHook", "CheckpointSaverHook", "CheckpointSaverListener", "LoggingTensorHook", "NanTensorHook",
    "NanLossDuringTrainingError", "FeedFnHook", "FinalOpsHook", "StepCounterHook", "Scaffold",
    "ChiefSessionCreator", "WorkerSessionCreator", "MonitoredSession", "SingularMonitoredSession",
    "MonitoredTrainingSession")}
