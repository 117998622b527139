//! Plugin discovery: bad files (garbage, foreign libraries, incompatible plugins) are skipped with a clear reason while the good ones load; a library dropped into
//! plugin.path after start is found by the rescan an unknown class triggers; the worker runs on its own allocator
//! (jemalloc, with the thread cache `connect_runtime::alloc` sets) beside the plugins' C library malloc.

use std::time::Duration;

use connect_runtime::plugins::{Location, PluginRegistry};
use connect_tests::*;

#[test]
fn garbage_and_incompatible_files_are_skipped_and_the_file_connectors_load() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file", "test_plugin_abi_mismatch"]);
    std::fs::write(plugins.join("garbage.so"), b"this is not an ELF file").unwrap();
    // A real shared library that is not a plugin (the C math library every Linux system has).
    std::fs::copy("/lib/x86_64-linux-gnu/libm.so.6", plugins.join("foreign.so")).unwrap();

    let mut list = ConnectProcess::start(
        &["plugins", "list", "--json", "--plugin-path", plugins.to_str().unwrap()],
        &dir.path().join("list.log"),
    );
    assert!(list.wait_exit(Duration::from_secs(30)).success(), "{}", list.output());
    let output = list.output();
    assert!(output.contains("garbage.so: not a loadable shared library"), "{output}");
    assert!(
        output.contains("libtest_plugin_abi_mismatch.so: incompatible plugin: its connect-rs plugin root module does not have the layout"),
        "{output}"
    );
    let json_start = output.find('[').expect("a JSON list");
    let json_end = output.rfind(']').expect("a JSON list");
    let listed: serde_json::Value = serde_json::from_str(&output[json_start..=json_end]).unwrap();
    let is_connector = |p: &&serde_json::Value| p["type"] == "source" || p["type"] == "sink";
    let classes: Vec<&str> =
        listed.as_array().unwrap().iter().filter(is_connector).map(|p| p["class"].as_str().unwrap()).collect();
    // Kafka's transformations and predicates are listed after the connectors, as built-ins.
    let transforms: Vec<&serde_json::Value> = listed.as_array().unwrap().iter().skip(classes.len()).collect();
    assert!(transforms.iter().all(|p| p["location"] == "builtin" && !is_connector(p)), "{listed}");
    assert!(transforms.iter().any(|p| p["class"] == "org.apache.kafka.connect.transforms.Cast$Value"), "{listed}");
    assert!(
        transforms.iter().any(|p| p["class"] == "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
            && p["type"] == "predicate"),
        "{listed}"
    );
    // The built-in connectors (MirrorMaker 2's, the HTTP Bridge, the Kafka Exporter) first, then those of the one
    // loadable library.
    assert_eq!(
        classes,
        [
            "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            "org.apache.kafka.connect.mirror.MirrorCheckpointConnector",
            "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector",
            "io.connectrs.bridge.HttpBridgeConnector",
            "io.connectrs.exporter.KafkaExporterConnector",
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "org.apache.kafka.connect.file.FileStreamSinkConnector"
        ]
    );
    assert_eq!(listed[0]["location"], "builtin");
    assert_eq!(listed[4]["location"], "builtin");
    assert_eq!(listed[5]["type"], "source");
    assert_eq!(listed[6]["type"], "sink");
    assert!(listed[5]["location"].as_str().unwrap().ends_with("libconnect_file.so"));
}

#[test]
fn each_library_gets_its_own_module_and_late_files_are_found_by_a_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["test_plugin_faulty"]);
    let registry = PluginRegistry::new(vec![plugins.clone()]);
    assert!(registry.find("FileStreamSink").is_none());
    assert!(registry.find("com.connectrs.test.FaultySourceConnector").is_some());

    // Dropped in after the registry was built (a running worker).
    let late = plugins.join("file");
    std::fs::create_dir_all(&late).unwrap();
    std::fs::copy(tools::library("connect_file"), late.join("libconnect_file.so")).unwrap();
    let sink = registry.resolve("FileStreamSink").expect("found by the rescan");
    assert_eq!(sink.class(), "org.apache.kafka.connect.file.FileStreamSinkConnector");
    assert!(matches!(sink.location(), Location::File(p) if p.ends_with("file/libconnect_file.so")));
    // The first library is still itself, not the second one (no per-type module cache).
    let faulty = registry.resolve("FaultySource").expect("alias without the Connector suffix");
    assert_eq!(faulty.version(), "0.0.1");
    let unknown = registry.resolve("NoSuchConnector").unwrap_err();
    assert!(
        unknown.to_string().contains("available connectors are: org.apache.kafka.connect.mirror.MirrorSourceConnector")
            && unknown.to_string().contains("com.connectrs.test.FaultySourceConnector"),
        "{unknown}"
    );
}

#[test]
fn the_worker_allocates_with_jemalloc_and_its_small_thread_cache_and_plugins_still_load() {
    // The test binary links connect-runtime, as the `connect` binary and the benches do.
    assert_eq!(connect_runtime::alloc::option("opt.tcache_max"), Some(1024));

    // The `connect` binary: jemalloc prints its options at exit when its environment asks for it. Listing plugins
    // loads a library that allocates with the C library's malloc and hands strings to the worker.
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["connect_file"]);
    let mut command = std::process::Command::new(tools::connect_binary());
    command
        .args(["plugins", "list", "--plugin-path", plugins.to_str().unwrap()])
        .env("_RJEM_MALLOC_CONF", "stats_print:true,stats_print_opts:mdablxeh");
    let mut list = ConnectProcess::start_command(command, &dir.path().join("list.log"));
    assert!(list.wait_exit(Duration::from_secs(30)).success(), "{}", list.output());
    let output = list.output();
    assert!(output.contains("org.apache.kafka.connect.file.FileStreamSinkConnector"), "{output}");
    assert!(output.contains("opt.tcache_max: 1024"), "{output}");
    assert!(output.contains("opt.lg_tcache_nslots_mul: -2"), "{output}");
}
