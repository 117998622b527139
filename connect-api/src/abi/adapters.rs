//! Adapters from the plain Rust traits of [`crate::connector`] to the ABI objects, each call inside a panic guard.

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{ROption, RResult, RString, RVec};

use super::{
    AckedRecord, ConnectorContextBox, FfiConnector, FfiConnectorBox, FfiConnector_TO, FfiPredicate, FfiPredicateBox,
    FfiPredicate_TO, FfiSinkTask, FfiSinkTaskBox, FfiSinkTask_TO, FfiSourceTask, FfiSourceTaskBox, FfiSourceTask_TO,
    FfiTransformation, FfiTransformationBox, FfiTransformation_TO, PluginDescriptor, PluginFactory, RConfig,
    SinkTaskContextBox, SourceTaskContextBox, TaskCancellerApi, TaskCancellerApi_TO, TaskCancellerBox,
};
use crate::connector::{
    config_from_abi, config_to_abi, Connector, ConnectorContext, SinkConnector, SinkTask, SinkTaskContext,
    SourceConnector, SourceTask, SourceTaskContext, TaskCanceller,
};
use crate::error::{ConnectError, Result};
use crate::panic::guard;
use crate::record::{SinkRecord, TopicPartition, TopicPartitionOffset};
use crate::transform::{Predicate, TransformRecord, Transformation};

struct ConnectorAdapter<C>(C);

impl<C: Connector> FfiConnector for ConnectorAdapter<C> {
    fn start(&mut self, context: ConnectorContextBox, config: RConfig) -> RResult<(), ConnectError> {
        guard("start", || self.0.start(ConnectorContext::new(context), &config_from_abi(config))).into()
    }

    fn task_configs(&mut self, max_tasks: u32) -> RResult<RVec<RConfig>, ConnectError> {
        guard("taskConfigs", || {
            let configs = self.0.task_configs(max_tasks as usize)?;
            Ok(configs.iter().map(config_to_abi).collect())
        })
        .into()
    }

    fn stop(&mut self) -> RResult<(), ConnectError> {
        guard("stop", || self.0.stop()).into()
    }

    fn validate(&self, config: RConfig) -> RResult<RString, ConnectError> {
        guard("validate", || {
            let infos = self.0.validate(&config_from_abi(config));
            serde_json::to_string(&infos)
                .map(RString::from)
                .map_err(|e| ConnectError::new(format!("cannot encode the validation result: {e}")))
        })
        .into()
    }
}

struct SourceTaskAdapter<T>(T);

impl<T: SourceTask> FfiSourceTask for SourceTaskAdapter<T> {
    fn start(&mut self, context: SourceTaskContextBox, config: RConfig) -> RResult<(), ConnectError> {
        guard("start", || self.0.start(SourceTaskContext::new(context), &config_from_abi(config))).into()
    }

    fn poll(&mut self) -> RResult<RVec<crate::record::SourceRecord>, ConnectError> {
        guard("poll", || self.0.poll().map(RVec::from)).into()
    }

    fn commit(&mut self) -> RResult<(), ConnectError> {
        guard("commit", || self.0.commit()).into()
    }

    fn commit_records(&mut self, records: RVec<AckedRecord>) -> RResult<(), ConnectError> {
        guard("commitRecord", || {
            for acked in records.iter() {
                self.0.commit_record(&acked.record, acked.metadata.as_ref().into())?;
            }
            Ok(())
        })
        .into()
    }

    fn record_failed(&mut self, record: crate::record::SourceRecord, error: ConnectError) -> RResult<(), ConnectError> {
        guard("recordFailed", || self.0.record_failed(&record, error)).into()
    }

    fn stop(&mut self) -> RResult<(), ConnectError> {
        guard("stop", || self.0.stop()).into()
    }

    fn canceller(&self) -> ROption<TaskCancellerBox> {
        canceller_box(self.0.canceller())
    }
}

impl TaskCancellerApi for TaskCanceller {
    fn cancel(&self) {
        if let Err(err) = guard("cancel", || {
            TaskCanceller::cancel(self);
            Ok(())
        }) {
            tracing::error!("{err}");
        }
    }
}

fn canceller_box(canceller: Option<TaskCanceller>) -> ROption<TaskCancellerBox> {
    canceller.map(|c| TaskCancellerApi_TO::from_ptr(abi_stable::std_types::RArc::new(c), TD_Opaque)).into()
}

struct SinkTaskAdapter<T>(T);

impl<T: SinkTask> FfiSinkTask for SinkTaskAdapter<T> {
    fn start(&mut self, context: SinkTaskContextBox, config: RConfig) -> RResult<(), ConnectError> {
        guard("start", || self.0.start(SinkTaskContext::new(context), &config_from_abi(config))).into()
    }

    fn open(&mut self, partitions: RVec<TopicPartition>) -> RResult<(), ConnectError> {
        guard("open", || self.0.open(&partitions)).into()
    }

    fn close(&mut self, partitions: RVec<TopicPartition>) -> RResult<(), ConnectError> {
        guard("close", || self.0.close(&partitions)).into()
    }

    fn put(&mut self, records: RVec<SinkRecord>) -> RResult<(), ConnectError> {
        guard("put", || self.0.put(records.into_vec())).into()
    }

    fn pre_commit(&mut self, offsets: RVec<TopicPartitionOffset>) -> RResult<RVec<TopicPartitionOffset>, ConnectError> {
        guard("preCommit", || self.0.pre_commit(offsets.into_vec()).map(RVec::from)).into()
    }

    fn stop(&mut self) -> RResult<(), ConnectError> {
        guard("stop", || self.0.stop()).into()
    }

    fn canceller(&self) -> ROption<TaskCancellerBox> {
        canceller_box(self.0.canceller())
    }
}

extern "C" fn new_connector<C: Connector + Default>() -> RResult<FfiConnectorBox, ConnectError> {
    guard("creating the connector", || Ok(FfiConnector_TO::from_value(ConnectorAdapter(C::default()), TD_Opaque)))
        .into()
}

extern "C" fn new_source_task<T: SourceTask + Default>() -> RResult<FfiSourceTaskBox, ConnectError> {
    guard("creating the task", || Ok(FfiSourceTask_TO::from_value(SourceTaskAdapter(T::default()), TD_Opaque))).into()
}

extern "C" fn new_sink_task<T: SinkTask + Default>() -> RResult<FfiSinkTaskBox, ConnectError> {
    guard("creating the task", || Ok(FfiSinkTask_TO::from_value(SinkTaskAdapter(T::default()), TD_Opaque))).into()
}

fn describe<C: Connector + Default>(class: &str, factory: PluginFactory) -> Result<PluginDescriptor> {
    guard(&format!("describing {class}"), || {
        let connector = C::default();
        described(class, connector.version(), &connector.config_def(), factory)
    })
}

/// The descriptor of source connector `C` under class name `class` (used by [`crate::export_plugins!`] and by
/// the runtime's built-ins).
pub fn source_descriptor<C: SourceConnector + Default>(class: &str) -> Result<PluginDescriptor> {
    describe::<C>(class, PluginFactory::Source { connector: new_connector::<C>, task: new_source_task::<C::Task> })
}

/// The descriptor of sink connector `C` under class name `class`.
pub fn sink_descriptor<C: SinkConnector + Default>(class: &str) -> Result<PluginDescriptor> {
    describe::<C>(class, PluginFactory::Sink { connector: new_connector::<C>, task: new_sink_task::<C::Task> })
}

struct TransformationAdapter<T>(T);

impl<T: Transformation> FfiTransformation for TransformationAdapter<T> {
    fn configure(&mut self, config: RConfig) -> RResult<(), ConnectError> {
        guard("configure", || self.0.configure(&config_from_abi(config))).into()
    }

    fn apply(&mut self, record: TransformRecord) -> RResult<ROption<TransformRecord>, ConnectError> {
        guard("apply", || self.0.apply(record).map(ROption::from)).into()
    }

    fn close(&mut self) {
        if let Err(err) = guard("close", || {
            self.0.close();
            Ok(())
        }) {
            tracing::error!("{err}");
        }
    }
}

struct PredicateAdapter<P>(P);

impl<P: Predicate> FfiPredicate for PredicateAdapter<P> {
    fn configure(&mut self, config: RConfig) -> RResult<(), ConnectError> {
        guard("configure", || self.0.configure(&config_from_abi(config))).into()
    }

    fn test(&mut self, record: &TransformRecord) -> RResult<bool, ConnectError> {
        guard("test", || self.0.test(record)).into()
    }

    fn close(&mut self) {
        if let Err(err) = guard("close", || {
            self.0.close();
            Ok(())
        }) {
            tracing::error!("{err}");
        }
    }
}

extern "C" fn new_transformation<T: Transformation + Default>() -> RResult<FfiTransformationBox, ConnectError> {
    guard("creating the transformation", || {
        Ok(FfiTransformation_TO::from_value(TransformationAdapter(T::default()), TD_Opaque))
    })
    .into()
}

extern "C" fn new_predicate<P: Predicate + Default>() -> RResult<FfiPredicateBox, ConnectError> {
    guard("creating the predicate", || Ok(FfiPredicate_TO::from_value(PredicateAdapter(P::default()), TD_Opaque)))
        .into()
}

fn described(
    class: &str,
    version: String,
    def: &crate::config::ConfigDef,
    factory: PluginFactory,
) -> Result<PluginDescriptor> {
    let config_def = serde_json::to_string(def)
        .map_err(|e| ConnectError::new(format!("cannot encode the configuration definition of {class}: {e}")))?;
    Ok(PluginDescriptor {
        class: RString::from(class),
        version: RString::from(version),
        config_def: RString::from(config_def),
        factory,
    })
}

/// The descriptor of transformation `T` under class name `class`.
pub fn transformation_descriptor<T: Transformation + Default>(class: &str) -> Result<PluginDescriptor> {
    guard(&format!("describing {class}"), || {
        let t = T::default();
        described(
            class,
            t.version(),
            &t.config_def(),
            PluginFactory::Transformation { create: new_transformation::<T> },
        )
    })
}

/// The descriptor of predicate `P` under class name `class`.
pub fn predicate_descriptor<P: Predicate + Default>(class: &str) -> Result<PluginDescriptor> {
    guard(&format!("describing {class}"), || {
        let p = P::default();
        described(class, p.version(), &p.config_def(), PluginFactory::Predicate { create: new_predicate::<P> })
    })
}
