//! Async connectors and tasks (feature `async`): write `async fn`s on tokio, the adapters here drive them behind
//! the synchronous, batch-oriented ABI.
//!
//! Implement [`AsyncConnector`] plus [`AsyncSourceConnector`] or [`AsyncSinkConnector`], and [`AsyncSourceTask`] or
//! [`AsyncSinkTask`] (with [`macro@async_trait`]), then list the connector as `async_source` or `async_sink` in
//! [`crate::export_plugins!`]. Each call of the runtime (one `poll`, one `put`, ...) runs the matching future to
//! completion on the calling thread with [`block_on`]; I/O, timers and [`spawn`]ed futures are driven by a tokio
//! runtime that the plugin library owns: one per library, shared by all its connectors and tasks, created on first
//! use ([`plugin_runtime`]).
//!
//! **Why not the worker's runtime.** A plugin `.so` links its own copy of tokio. Tokio finds "its" runtime through
//! thread-local state of that copy, so a future built inside the plugin (`tokio::net`, `tokio::time`, sqlx,
//! reqwest) looks for a runtime the worker's copy of tokio knows nothing of, and panics with "there is no reactor
//! running". Futures, wakers and runtime handles are not ABI-stable types either: they cannot cross the boundary.
//! So the worker calls plain functions, and the library owns the runtime that drives its own futures.
//!
//! **Stopping.** When the runtime stops a task (stop, rebalance, delete, restart) it cancels the task first: a
//! pending `start`, `poll` or `put` future is dropped at its next `.await`. A cancelled `poll` returns no records,
//! a cancelled `put` a retriable error (its records are not committed, so they are delivered again after a
//! restart), a cancelled `start` an error. The calls that follow (`pre_commit`, `close`, `stop`) run normally;
//! the runtime waits for them up to `task.shutdown.graceful.timeout.ms`, then abandons the task.
//!
//! ```
//! use connect_api::*;
//! use connect_api::async_connector::*;
//!
//! #[derive(Default)]
//! struct Ticker { topic: String }
//!
//! #[async_trait]
//! impl AsyncConnector for Ticker {
//!     fn version(&self) -> String { "1.0".into() }
//!     fn config_def(&self) -> ConfigDef { ConfigDef::new().define(ConfigKey::new("topic", ConfigType::String)) }
//!     async fn start(&mut self, _ctx: ConnectorContext, config: &Config) -> Result<()> {
//!         self.topic = self.config_def().parse(config)?.string("topic")?.to_string();
//!         Ok(())
//!     }
//!     async fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<Config>> {
//!         Ok(vec![Config::from([("topic".to_string(), self.topic.clone())])])
//!     }
//!     async fn stop(&mut self) -> Result<()> { Ok(()) }
//! }
//!
//! impl AsyncSourceConnector for Ticker { type Task = TickerTask; }
//!
//! #[derive(Default)]
//! struct TickerTask { topic: String, n: i64 }
//!
//! #[async_trait]
//! impl AsyncSourceTask for TickerTask {
//!     async fn start(&mut self, _ctx: SourceTaskContext, config: &Config) -> Result<()> {
//!         self.topic = config["topic"].clone();
//!         Ok(())
//!     }
//!     async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
//!         tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//!         self.n += 1;
//!         let partition = SourceMap::new().with("ticker", "main");
//!         let offset = SourceMap::new().with("n", self.n);
//!         Ok(vec![SourceRecord::new(partition, offset, self.topic.clone(), None, Value::Int64(self.n))])
//!     }
//!     async fn stop(&mut self) -> Result<()> { Ok(()) }
//! }
//!
//! // In a plugin crate: connect_api::export_plugins! { async_source "com.example.Ticker" => Ticker }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

pub use async_trait::async_trait;
use tokio::sync::watch;

use crate::config::{Config, ConfigDef, ConfigValueInfo};
use crate::connector::{
    Connector, ConnectorContext, SinkConnector, SinkTask, SinkTaskContext, SourceConnector, SourceTask,
    SourceTaskContext, TaskCanceller,
};
use crate::error::{ConnectError, Result};
use crate::logging::CapturedSpan;
use crate::record::{RecordMetadata, SinkRecord, SourceRecord, TopicPartition, TopicPartitionOffset};

/// The tokio runtime of this plugin library: multi-threaded (at most 4 workers), I/O and timers enabled,
/// threads named `connect-plugin-rt`; created on first use and never shut down (libraries are never unloaded).
pub fn plugin_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 4);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("connect-plugin-rt")
            .enable_all()
            .build()
            // Only fails when the OS refuses threads or an I/O driver; a library cannot work without them.
            .expect("cannot create the plugin's tokio runtime")
    })
}

/// Runs `future` to completion on the calling thread, with the plugin runtime's I/O and timers. Use it to call
/// async code from a synchronous connector. Called from a thread that is itself inside a runtime of this library
/// (a worker thread of [`plugin_runtime`]), it blocks a helper thread instead of panicking.
pub fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = plugin_runtime();
    if tokio::runtime::Handle::try_current().is_ok() {
        return std::thread::scope(|scope| match scope.spawn(|| runtime.block_on(future)).join() {
            Ok(output) => output,
            Err(panic) => std::panic::resume_unwind(panic),
        });
    }
    runtime.block_on(future)
}

/// Spawns `future` on the plugin runtime; its log events stay inside the worker's span of the caller (the task's
/// span when called from a task). A panic in it ends that future only (the `JoinHandle` reports it).
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    plugin_runtime().spawn(InSpan { span: CapturedSpan::current(), future: Box::pin(future) })
}

/// A future whose events are logged inside a captured worker span.
struct InSpan<F> {
    span: CapturedSpan,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let future = &mut this.future;
        this.span.enter(|| future.as_mut().poll(cx))
    }
}

/// What every async connector does, source or sink; see [`crate::Connector`] for the lifecycle.
#[async_trait]
pub trait AsyncConnector: Send + Sync + 'static {
    /// The connector's version.
    fn version(&self) -> String;

    /// The configuration keys the connector accepts.
    fn config_def(&self) -> ConfigDef;

    /// Starts the connector with its configuration.
    async fn start(&mut self, context: ConnectorContext, config: &Config) -> Result<()>;

    /// Splits the work into at most `max_tasks` task configurations.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>>;

    /// Stops the connector.
    async fn stop(&mut self) -> Result<()>;

    /// Validates a configuration key by key; by default against [`AsyncConnector::config_def`]. Override to add
    /// checks that need I/O (can the database be reached? does the table exist?), appending errors to the entries
    /// of the keys concerned.
    async fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
        self.config_def().validate(config)
    }
}

/// An async connector that reads from an external system into Kafka.
pub trait AsyncSourceConnector: AsyncConnector {
    /// The task type.
    type Task: AsyncSourceTask + Default;
}

/// An async connector that writes records from Kafka to an external system.
pub trait AsyncSinkConnector: AsyncConnector {
    /// The task type.
    type Task: AsyncSinkTask + Default;
}

/// An async source task; see [`crate::SourceTask`] for the lifecycle.
#[async_trait]
pub trait AsyncSourceTask: Send + 'static {
    /// Starts the task with its configuration.
    async fn start(&mut self, context: SourceTaskContext, config: &Config) -> Result<()>;

    /// Returns the next batch of records, possibly empty. It may await as long as it needs: a stop cancels it.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>>;

    /// Called after the offsets of acknowledged records were committed.
    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// Called once per record after Kafka acknowledged it (`None`: dropped by a transformation), in poll order.
    /// Synchronous: it is called for every record and should only do bookkeeping.
    fn commit_record(&mut self, record: &SourceRecord, metadata: Option<&RecordMetadata>) -> Result<()> {
        let _ = (record, metadata);
        Ok(())
    }

    /// Kafka refused a record for good; by default the task fails. See [`crate::SourceTask::record_failed`].
    async fn record_failed(&mut self, record: &SourceRecord, error: ConnectError) -> Result<()> {
        let _ = record;
        Err(error)
    }

    /// Stops the task.
    async fn stop(&mut self) -> Result<()>;
}

/// An async sink task; see [`crate::SinkTask`] for the lifecycle.
#[async_trait]
pub trait AsyncSinkTask: Send + 'static {
    /// Starts the task with its configuration.
    async fn start(&mut self, context: SinkTaskContext, config: &Config) -> Result<()>;

    /// Partitions were assigned to this task.
    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// Partitions are being taken away; their offsets were committed just before.
    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// Writes a batch. Return a retriable error to get the same batch again after a pause. A stop cancels it.
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()>;

    /// Makes everything `put` so far durable, up to `offsets`.
    async fn flush(&mut self, offsets: &[TopicPartitionOffset]) -> Result<()> {
        let _ = offsets;
        Ok(())
    }

    /// Decides which offsets to commit; by default flushes and commits all of `offsets`.
    async fn pre_commit(&mut self, offsets: Vec<TopicPartitionOffset>) -> Result<Vec<TopicPartitionOffset>> {
        self.flush(&offsets).await?;
        Ok(offsets)
    }

    /// Stops the task.
    async fn stop(&mut self) -> Result<()>;
}

/// The adapter that makes an [`AsyncSourceConnector`] a [`crate::SourceConnector`] (what `async_source` in
/// [`crate::export_plugins!`] exports, and what [`crate::testkit`] runs).
#[derive(Default)]
pub struct AsyncSource<C>(C);

/// The adapter that makes an [`AsyncSinkConnector`] a [`crate::SinkConnector`].
#[derive(Default)]
pub struct AsyncSink<C>(C);

macro_rules! connector_adapter {
    ($adapter:ident, $bound:ident, $sync:ident, $task:ident) => {
        impl<C: $bound> Connector for $adapter<C> {
            fn version(&self) -> String {
                self.0.version()
            }

            fn config_def(&self) -> ConfigDef {
                self.0.config_def()
            }

            fn start(&mut self, context: ConnectorContext, config: &Config) -> Result<()> {
                block_on(self.0.start(context, config))
            }

            fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<Config>> {
                block_on(self.0.task_configs(max_tasks))
            }

            fn stop(&mut self) -> Result<()> {
                block_on(self.0.stop())
            }

            fn validate(&self, config: &Config) -> Vec<ConfigValueInfo> {
                block_on(self.0.validate(config))
            }
        }

        impl<C: $bound> $sync for $adapter<C> {
            type Task = $task<C::Task>;
        }
    };
}

connector_adapter!(AsyncSource, AsyncSourceConnector, SourceConnector, AsyncSourceTaskAdapter);
connector_adapter!(AsyncSink, AsyncSinkConnector, SinkConnector, AsyncSinkTaskAdapter);

/// Set once when the runtime stops the task; every cancellable call selects on it.
struct Cancellation {
    stopping: watch::Sender<bool>,
}

impl Default for Cancellation {
    fn default() -> Self {
        Cancellation { stopping: watch::channel(false).0 }
    }
}

impl Cancellation {
    fn canceller(self: &Arc<Self>) -> TaskCanceller {
        let this = self.clone();
        TaskCanceller::new(move || {
            this.stopping.send_replace(true);
        })
    }

    /// Runs `future` on the calling thread unless the task is (or becomes) stopping: `None` then, and the future
    /// is dropped at its pending `.await`.
    fn run<F>(&self, future: F) -> Option<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let mut stopping = self.stopping.subscribe();
        if *stopping.borrow() {
            return None;
        }
        block_on(async move {
            tokio::select! {
                biased;
                _ = stopping.wait_for(|stop| *stop) => None,
                output = future => Some(output),
            }
        })
    }
}

/// Runs an [`AsyncSourceTask`] as a [`crate::SourceTask`].
#[derive(Default)]
pub struct AsyncSourceTaskAdapter<T> {
    task: T,
    cancellation: Arc<Cancellation>,
}

impl<T: AsyncSourceTask> SourceTask for AsyncSourceTaskAdapter<T> {
    fn start(&mut self, context: SourceTaskContext, config: &Config) -> Result<()> {
        self.cancellation
            .run(self.task.start(context, config))
            .unwrap_or_else(|| Err(ConnectError::retriable("start was cancelled: the task is stopping")))
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        self.cancellation.run(self.task.poll()).unwrap_or_else(|| Ok(Vec::new()))
    }

    fn commit(&mut self) -> Result<()> {
        block_on(self.task.commit())
    }

    fn commit_record(&mut self, record: &SourceRecord, metadata: Option<&RecordMetadata>) -> Result<()> {
        self.task.commit_record(record, metadata)
    }

    fn record_failed(&mut self, record: &SourceRecord, error: ConnectError) -> Result<()> {
        block_on(self.task.record_failed(record, error))
    }

    fn stop(&mut self) -> Result<()> {
        block_on(self.task.stop())
    }

    fn canceller(&self) -> Option<TaskCanceller> {
        Some(self.cancellation.canceller())
    }
}

/// Runs an [`AsyncSinkTask`] as a [`crate::SinkTask`].
#[derive(Default)]
pub struct AsyncSinkTaskAdapter<T> {
    task: T,
    cancellation: Arc<Cancellation>,
}

impl<T: AsyncSinkTask> SinkTask for AsyncSinkTaskAdapter<T> {
    fn start(&mut self, context: SinkTaskContext, config: &Config) -> Result<()> {
        self.cancellation
            .run(self.task.start(context, config))
            .unwrap_or_else(|| Err(ConnectError::retriable("start was cancelled: the task is stopping")))
    }

    fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        block_on(self.task.open(partitions))
    }

    fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        block_on(self.task.close(partitions))
    }

    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
        self.cancellation
            .run(self.task.put(records))
            .unwrap_or_else(|| Err(ConnectError::retriable("put was cancelled: the task is stopping")))
    }

    fn flush(&mut self, offsets: &[TopicPartitionOffset]) -> Result<()> {
        block_on(self.task.flush(offsets))
    }

    fn pre_commit(&mut self, offsets: Vec<TopicPartitionOffset>) -> Result<Vec<TopicPartitionOffset>> {
        block_on(self.task.pre_commit(offsets))
    }

    fn stop(&mut self) -> Result<()> {
        block_on(self.task.stop())
    }

    fn canceller(&self) -> Option<TaskCanceller> {
        Some(self.cancellation.canceller())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::panic::guard;

    #[derive(Default)]
    struct Slow {
        polls: usize,
    }

    #[async_trait]
    impl AsyncSourceTask for Slow {
        async fn start(&mut self, _context: SourceTaskContext, _config: &Config) -> Result<()> {
            Ok(())
        }
        async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
            self.polls += 1;
            if self.polls > 1 {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Ok(Vec::new())
        }
        async fn stop(&mut self) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn cancelling_interrupts_a_pending_poll_and_every_later_one() {
        let mut task = AsyncSourceTaskAdapter::<Slow>::default();
        let canceller = task.canceller().expect("async tasks can be cancelled");
        assert!(task.poll().unwrap().is_empty());
        let started = Instant::now();
        let cancel = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            canceller.cancel();
        });
        assert!(task.poll().unwrap().is_empty());
        assert!(started.elapsed() < Duration::from_secs(10), "the pending poll was not cancelled");
        cancel.join().unwrap();
        assert!(task.poll().unwrap().is_empty());
        task.stop().unwrap();
    }

    #[test]
    fn a_panic_in_a_future_is_an_error_of_that_call() {
        let err = guard("poll", || -> Result<()> {
            block_on(async {
                tokio::task::yield_now().await;
                panic!("inside a future")
            })
        })
        .unwrap_err();
        assert_eq!(err.message(), "poll panicked: inside a future");
        // The runtime survives it.
        assert_eq!(block_on(async { 7 }), 7);
    }

    #[test]
    fn block_on_inside_the_runtime_uses_a_helper_thread() {
        let inner = plugin_runtime().block_on(async { block_on(async { 5 }) });
        assert_eq!(inner, 5);
    }

    #[test]
    fn spawned_futures_run_on_the_plugin_runtime() {
        let handle = spawn(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            1u8
        });
        let out = block_on(async { handle.await.unwrap() });
        assert_eq!(out, 1);
    }
}
