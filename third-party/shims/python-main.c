/*
 * python.wasm's entry point and its snapshot (written for faasm-py).
 *
 * One module serves two ways:
 * - plain: `_start` (wasi-libc's: constructors, then main) → main →
 *   faasm_py_main starts CPython as `python` does (Py_BytesMain).
 * - snapshot: the `snapshot` stage calls the exported `wizer-initialize`
 *   once, which runs the constructors, starts CPython and imports the
 *   configured modules, and saves the instance's memory and globals as a new
 *   module (wasmtime-wizer) whose `_start` is `faasm-py-resume`: main
 *   without constructors, which ran already (C++ statics would be built a
 *   second time over live ones). Every
 *   run of that module then enters faasm_py_main with the interpreter up and
 *   only refreshes what belongs to the run: wasi-libc's environment and
 *   preopen table, the working directory, the interpreter's configuration
 *   from this run's argv and environment (sys.argv, sys.flags, sys.path,
 *   warnings options), os.environ, random state, stdio buffering. Then
 *   Py_RunMain runs -c/-m/the script exactly as `python` does, and the run
 *   ends as `python` does up to tearing the interpreter down, which a
 *   process about to exit can skip (finish, below).
 *
 * What a snapshot cannot change (made once, before any dict existed, or
 * acted on at start-up) is compared with the run's configuration; a run that
 * asks for something else (-X dev, -O, -E, -I, -S, PYTHONHASHSEED, ...) is
 * refused with a message. The harness sends such runs to the plain module
 * before they get here (harness::snapshot_refusal), so users do not see it.
 */
#include <Python.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

/* Generated main.c: registers the statically linked extension modules. */
extern int faasm_py_register_modules(void);

/* The linker's constructors, and wasi-libc's call of main with the WASI
   arguments. */
extern void __wasm_call_ctors(void);
extern int __main_void(void);

/* wasi-libc: forget the environment and preopens read so far; they are
   read again from this run's WASI context when next needed. */
extern void __wasilibc_deinitialize_environ(void);
extern void __wasilibc_initialize_environ(void);
extern void __wasilibc_reset_preopens(void);
extern char **environ;

/* CPython-internal, linked statically: the running interpreter's
   configuration (the interpreter's own PyConfig, not a copy). */
extern const PyConfig *_Py_GetConfig(void);

#if PY_VERSION_HEX >= 0x030E0000
/* CPython 3.14 removed _PyInterpreterState_SetConfig (gh-129033). PEP 741's
   PyConfig_Set, named as its replacement, sets one option's sys attribute or
   flag, not the interpreter's configuration, and refuses the options fixed
   at start-up, among them run_command, run_module and run_filename, which
   Py_RunMain reads from that configuration, and orig_argv.
   set_config does what 3.13's did, with the internal
   functions it called, which 3.14 still has (Python/initconfig.c,
   pathconfig.c, sysmodule.c): the run's configuration read as the
   interpreter would read it, copied over the interpreter's own, written to
   the runtime's globals and preconfiguration, the path configuration, the
   sys module (argv, orig_argv, warnoptions, _xoptions, flags, executable
   ...) and the int/str digit limit. Declared here as CPython's internal
   headers declare them (they are no public API); the link checks the
   names. */
struct pyruntimestate;
extern struct pyruntimestate _PyRuntime;
extern PyStatus _PyConfig_Copy(PyConfig *config, const PyConfig *config2);
extern PyStatus _PyConfig_Read(PyConfig *config, int compute_path_config);
extern PyStatus _PyConfig_Write(const PyConfig *config, struct pyruntimestate *runtime);
extern PyStatus _PyPathConfig_UpdateGlobal(const PyConfig *config);
extern int _PySys_UpdateConfig(PyThreadState *tstate);
extern int _PySys_SetIntMaxStrDigits(int maxdigits);
extern void _PyErr_SetFromPyStatus(PyStatus status);

/* 0, or -1 with an exception set. */
static int set_config(const PyConfig *run) {
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    PyStatus status = _PyConfig_Copy(&config, run);
    if (!PyStatus_Exception(status)) {
        status = _PyConfig_Read(&config, 1);
    }
    /* _Py_GetConfig is the interpreter's own configuration. */
    PyConfig *interp = (PyConfig *)_Py_GetConfig();
    if (!PyStatus_Exception(status)) {
        status = _PyConfig_Copy(interp, &config);
    }
    PyConfig_Clear(&config);
    if (!PyStatus_Exception(status)) {
        status = _PyConfig_Write(interp, &_PyRuntime);
    }
    if (!PyStatus_Exception(status)) {
        status = _PyPathConfig_UpdateGlobal(interp);
    }
    if (PyStatus_Exception(status)) {
        _PyErr_SetFromPyStatus(status);
        return -1;
    }
    if (_PySys_UpdateConfig(PyThreadState_Get()) < 0) {
        return -1;
    }
    /* The interpreter's limit (and sys.flags' and the configuration's). */
    return _PySys_SetIntMaxStrDigits(interp->int_max_str_digits);
}
#else
/* Replaces the running interpreter's configuration (what test_embed's
   set_config uses); 0, or -1 with an exception set. */
extern int _PyInterpreterState_SetConfig(const PyConfig *config);
#define set_config _PyInterpreterState_SetConfig
#endif

/* Set by wizer-initialize; true in every run of a snapshot. */
static int snapshot_ready;
/* The snapshot helpers (SNAPSHOT_PY below), kept out of sys.modules. */
static PyObject *snapshot_helpers;

/* What the snapshot does in Python: before it is taken (prepare) and at the
   start of each run (resume). */
static const char SNAPSHOT_PY[] =
    "import sys\n"
    "def prepare(imports, search_paths, pythonpath):\n"
    "    import _io, gc, importlib, os\n"
    "    for name in imports:\n"
    "        if name:\n"
    "            importlib.import_module(name)\n"
    "    # Files this process opened are not the run's: close them (stdio\n"
    "    # stays). Objects without a file descriptor (StringIO) stay open.\n"
    "    for obj in gc.get_objects():\n"
    "        if isinstance(obj, _io._IOBase) and not obj.closed:\n"
    "            try:\n"
    "                fd = obj.fileno()\n"
    "            except Exception:\n"
    "                continue\n"
    "            if fd > 2:\n"
    "                obj.close()\n"
    "    # Directory listings cached by the import system are this process's.\n"
    "    sys.path_importer_cache.clear()\n"
    "    importlib.invalidate_caches()\n"
    "    # The standard library's paths, and what site added (site-packages,\n"
    "    # .pth entries); this process's own PYTHONPATH is not carried over.\n"
    "    global fixed_paths, site_paths\n"
    "    own = set(python_path(pythonpath))\n"
    "    fixed_paths = [p for p in search_paths if p not in own]\n"
    "    site_paths = [p for p in sys.path if p not in search_paths]\n"
    "    # Whatever the imports printed belongs to this process, not to runs.\n"
    "    sys.stdout.flush()\n"
    "    sys.stderr.flush()\n"
    "    # What is left lives as long as the snapshot: the collector need not\n"
    "    # look at it again in any run (nor list it in gc.get_objects()).\n"
    "    gc.collect()\n"
    "    gc.freeze()\n"
    "def python_path(value):\n"
    "    # As getpath reads PYTHONPATH: every entry absolute, '' the cwd.\n"
    "    import os\n"
    "    return [os.path.abspath(p) for p in value.split(os.pathsep)] if value else []\n"
    "def before_exit():\n"
    "    # What Py_FinalizeEx does first: join threads, run atexit callbacks.\n"
    "    threading = sys.modules.get('threading')\n"
    "    if threading is not None:\n"
    "        try:\n"
    "            threading._shutdown()\n"
    "        except Exception as e:\n"
    "            unraisable('Exception ignored on threading shutdown', e)\n"
    "    import atexit\n"
    "    atexit._run_exitfuncs()\n"
    "    # Then files the run left open, closed as deallocating them would\n"
    "    # (stdio stays; the snapshot's own objects are frozen and not listed).\n"
    "    import gc, _io\n"
    "    std = {id(getattr(sys, n, None)) for n in\n"
    "           ('stdin', 'stdout', 'stderr', '__stdin__', '__stdout__', '__stderr__')}\n"
    "    # _io's base classes, not io's ABCs: every file object derives from them,\n"
    "    # and an ABC's check can walk its whole subclass tree when its cache\n"
    "    # is stale, which cost each run of a snapshot with pandas 4.7 M operators.\n"
    "    files = [o for o in gc.get_objects() if isinstance(o, _io._IOBase) and id(o) not in std]\n"
    "    # Wrappers before what they wrap: closing a raw file first would drop\n"
    "    # its buffered writer's data (a buffer over a closed raw file skips it).\n"
    "    layer = lambda o: 0 if isinstance(o, _io._TextIOBase) else 1 if isinstance(o, _io._BufferedIOBase) else 2\n"
    "    for obj in sorted(files, key=layer):\n"
    "        try:\n"
    "            if not obj.closed:\n"
    "                obj.close()\n"
    "        except Exception as e:\n"
    "            unraisable(f'Exception ignored in: {obj!r}', e)\n"
    "def unraisable(message, error):\n"
    "    import traceback\n"
    "    print(message, file=sys.stderr)\n"
    "    traceback.print_exception(error, file=sys.stderr)\n"
    "def resume(environ, pythonpath, unbuffered):\n"
    "    import posix\n"
    "    # os.environ wraps posix.environ, read when os was imported.\n"
    "    posix.environ.clear()\n"
    "    posix.environ.update(environ)\n"
    "    # The run's PYTHONPATH, the standard library, then what site added\n"
    "    # when the snapshot was made (PyConfig_Read computes no paths).\n"
    "    paths = []\n"
    "    for p in python_path(pythonpath) + fixed_paths + site_paths:\n"
    "        if p not in paths:\n"
    "            paths.append(p)\n"
    "    sys.path[:] = paths\n"
    "    random = sys.modules.get('random')\n"
    "    if random is not None:\n"
    "        random.seed()\n"
    "    mtrand = sys.modules.get('numpy.random.mtrand')\n"
    "    if mtrand is not None:\n"
    "        mtrand._rand.seed()\n"
    "    time = sys.modules.get('time')\n"
    "    if time is not None and hasattr(time, 'tzset'):\n"
    "        time.tzset()\n"
    "    tempfile = sys.modules.get('tempfile')\n"
    "    if tempfile is not None:\n"
    "        tempfile._name_sequence = None\n"
    "    if sys.warnoptions:\n"
    "        if 'warnings' in sys.modules:\n"
    "            sys.modules['warnings']._processoptions(sys.warnoptions)\n"
    "        else:\n"
    "            import warnings\n"
    "    import io\n"
    "    if unbuffered:\n"
    "        for name in ('stdout', 'stderr'):\n"
    "            old = getattr(sys, name)\n"
    "            new = io.TextIOWrapper(io.FileIO(old.fileno(), 'w', closefd=False),\n"
    "                                   encoding=old.encoding, errors=old.errors,\n"
    "                                   newline='\\n', write_through=True)\n"
    "            new.mode = 'w'\n"
    "            setattr(sys, name, new)\n"
    "            setattr(sys, '__' + name + '__', new)\n"
    "    elif sys.stdout.isatty():\n"
    "        sys.stdout.reconfigure(line_buffering=True)\n";

static void die(const char *what) {
    fprintf(stderr, "python.wasm: %s\n", what);
    if (PyErr_Occurred()) {
        PyErr_Print();
    }
    fflush(stderr);
    exit(120);
}

/* This process's arguments, straight from WASI (an export has no argv). */
static char **wasi_argv(int *argc) {
    __wasi_size_t count, size;
    if (__wasi_args_sizes_get(&count, &size) != 0) {
        return NULL;
    }
    char **argv = calloc(count + 1, sizeof(char *));
    char *buf = malloc(size);
    if (argv == NULL || buf == NULL || __wasi_args_get((uint8_t **)argv, (uint8_t *)buf) != 0) {
        return NULL;
    }
    *argc = (int)count;
    return argv;
}

/* Closes every descriptor above stdio that is not a preopen: a file the
   snapshotting process left open must not be open in a run. */
static void close_leftover_fds(void) {
    for (int fd = 3; fd < 4096; fd++) {
        __wasi_prestat_t prestat;
        if (__wasi_fd_prestat_get(fd, &prestat) == 0) {
            continue;
        }
        __wasi_fdstat_t stat;
        if (__wasi_fd_fdstat_get(fd, &stat) == 0) {
            close(fd);
        }
    }
}

/* A PyConfig's module search path as a list of str. */
static PyObject *search_paths(const PyConfig *config) {
    PyObject *paths = PyList_New(0);
    for (Py_ssize_t i = 0; paths != NULL && i < config->module_search_paths.length; i++) {
        PyObject *p = PyUnicode_FromWideChar(config->module_search_paths.items[i], -1);
        if (p == NULL || PyList_Append(paths, p) != 0) {
            Py_CLEAR(paths);
        }
        Py_XDECREF(p);
    }
    return paths;
}

/* A wide string as str, or None. */
static PyObject *wide_or_none(const wchar_t *s) {
    return s == NULL ? Py_NewRef(Py_None) : PyUnicode_FromWideChar(s, -1);
}

static PyObject *helper(const char *name) {
    PyObject *f = PyDict_GetItemString(snapshot_helpers, name);
    if (f == NULL) {
        die("the snapshot helpers are missing");
    }
    return f;
}

/* Starts CPython and imports $FAASM_PY_SNAPSHOT_IMPORTS (comma-separated);
   the snapshot stage calls it once and saves the instance. */
__attribute__((export_name("wizer-initialize"))) void faasm_py_wizer_initialize(void) {
    __wasm_call_ctors();
    int argc = 0;
    char **argv = wasi_argv(&argc);
    if (argv == NULL || argc < 1) {
        die("cannot read the arguments");
    }
    if (faasm_py_register_modules() != 0) {
        die("cannot register the built-in modules");
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    /* Only argv[0]: sys.argv and the rest come from each run. */
    PyStatus status = PyConfig_SetBytesArgv(&config, 1, argv);
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        Py_ExitStatusException(status);
    }
    PyObject *globals = PyDict_New();
    if (globals == NULL ||
        PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) != 0) {
        die("cannot make the snapshot helpers");
    }
    PyObject *done = PyRun_String(SNAPSHOT_PY, Py_file_input, globals, globals);
    if (done == NULL) {
        die("cannot define the snapshot helpers");
    }
    Py_DECREF(done);
    snapshot_helpers = globals;

    const char *list = getenv("FAASM_PY_SNAPSHOT_IMPORTS");
    PyObject *imports = PyUnicode_FromString(list == NULL ? "" : list);
    PyObject *comma = PyUnicode_FromString(",");
    PyObject *names =
        imports == NULL || comma == NULL ? NULL : PyUnicode_Split(imports, comma, -1);
    Py_XDECREF(comma);
    Py_XDECREF(imports);
    if (names == NULL) {
        die("cannot read FAASM_PY_SNAPSHOT_IMPORTS");
    }
    const PyConfig *running = _Py_GetConfig();
    PyObject *paths = search_paths(running);
    PyObject *pythonpath = wide_or_none(running->pythonpath_env);
    if (paths == NULL || pythonpath == NULL) {
        die("cannot read the module search path");
    }
    PyObject *r = PyObject_CallFunctionObjArgs(helper("prepare"), names, paths, pythonpath, NULL);
    Py_DECREF(names);
    Py_DECREF(paths);
    Py_DECREF(pythonpath);
    if (r == NULL) {
        die("importing the snapshot's modules failed");
    }
    Py_DECREF(r);
    fflush(NULL);
    close_leftover_fds();
    snapshot_ready = 1;
}

/* The snapshot's `_start` (the stage renames it): main, and exit with its
   status, as wasi-libc's `_start` does but without the constructors. */
__attribute__((export_name("faasm-py-resume"))) void faasm_py_resume_start(void) {
    exit(__main_void());
}

/* Start-up settings a snapshot has made once and for all. */
struct fixed {
    const char *option;
    int snapshot, run;
};

/* The first setting this run asks for that differs from the snapshot's,
   or NULL. */
static const char *differing(const PyConfig *snap, const PyConfig *run) {
    const struct fixed fields[] = {
        {"-I (isolated)", snap->isolated, run->isolated},
        {"-E (ignore PYTHON* variables)", snap->use_environment, run->use_environment},
        {"-X dev", snap->dev_mode, run->dev_mode},
        {"PYTHONHASHSEED", snap->use_hash_seed, run->use_hash_seed},
        {"-X faulthandler", snap->faulthandler, run->faulthandler},
        {"-X tracemalloc", snap->tracemalloc, run->tracemalloc},
        {"-X importtime", snap->import_time, run->import_time},
        {"-X no_debug_ranges", snap->code_debug_ranges, run->code_debug_ranges},
        {"-S (no site)", snap->site_import, run->site_import},
        {"-b (bytes warnings)", snap->bytes_warning, run->bytes_warning},
        {"-X warn_default_encoding", snap->warn_default_encoding, run->warn_default_encoding},
        {"-O (optimize)", snap->optimization_level, run->optimization_level},
        {"-d (parser debug)", snap->parser_debug, run->parser_debug},
        {"-v (verbose)", snap->verbose, run->verbose},
        {"-X int_max_str_digits", snap->int_max_str_digits, run->int_max_str_digits},
        {"-X frozen_modules", snap->use_frozen_modules, run->use_frozen_modules},
        {"-P (safe path)", snap->safe_path, run->safe_path},
#if PY_VERSION_HEX >= 0x030E0000
        {"-X context_aware_warnings", snap->context_aware_warnings,
         run->context_aware_warnings},
        {"-X thread_inherit_context", snap->thread_inherit_context,
         run->thread_inherit_context},
#endif
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i].snapshot != fields[i].run) {
            return fields[i].option;
        }
    }
    return NULL;
}

static PyObject *fresh_environ(void) {
    PyObject *env = PyDict_New();
    for (char **e = environ; env != NULL && e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL || eq == *e) {
            continue;
        }
        PyObject *k = PyBytes_FromStringAndSize(*e, eq - *e);
        PyObject *v = PyBytes_FromString(eq + 1);
        /* The first of a repeated name wins, as with getenv. */
        if (k == NULL || v == NULL ||
            (PyDict_SetDefault(env, k, v) == NULL)) {
            Py_CLEAR(env);
        }
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    return env;
}

/* A run of the snapshot: this run's configuration on the running
   interpreter, then what `python` does with it. */
static int resume(int argc, char **argv) {
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    PyStatus status = PyConfig_SetBytesArgv(&config, argc, argv);
    if (!PyStatus_Exception(status)) {
        status = PyConfig_Read(&config);
    }
    if (PyStatus_Exception(status)) {
        /* Bad options: usage and exit status 2, as `python` gives. */
        PyConfig_Clear(&config);
        Py_ExitStatusException(status);
    }
    const char *option = differing(_Py_GetConfig(), &config);
    if (option != NULL) {
        fprintf(stderr,
                "python.wasm: this snapshot was started without %s and cannot run "
                "with it; run the plain module (--no-snapshot)\n",
                option);
        PyConfig_Clear(&config);
        return 2;
    }
    if (set_config(&config) < 0) {
        PyConfig_Clear(&config);
        die("cannot apply this run's configuration");
    }
    PyObject *paths = wide_or_none(config.pythonpath_env);
    int unbuffered = !config.buffered_stdio;
    PyConfig_Clear(&config);
    PyObject *env = fresh_environ();
    if (paths == NULL || env == NULL) {
        die("cannot read this run's environment");
    }
    PyObject *r = PyObject_CallFunction(helper("resume"), "OOi", env, paths, unbuffered);
    Py_DECREF(env);
    Py_DECREF(paths);
    if (r == NULL) {
        die("cannot resume the snapshot");
    }
    Py_DECREF(r);
    return Py_RunMain();
}

/* sys.stdout and sys.stderr flushed as Py_FinalizeEx flushes them: -1 if
   either fails (stdout's error is printed). */
static int flush_std_files(void) {
    int status = 0;
    const char *names[] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        PyObject *f = PySys_GetObject(names[i]);
        if (f == NULL || f == Py_None) {
            continue;
        }
        PyObject *closed = PyObject_GetAttrString(f, "closed");
        int is_closed = closed == NULL ? -1 : PyObject_IsTrue(closed);
        Py_XDECREF(closed);
        PyObject *r = is_closed == 0 ? PyObject_CallMethod(f, "flush", NULL) : NULL;
        if (is_closed == 0 && r == NULL) {
            if (i == 0) {
                PyErr_FormatUnraisable("Exception ignored on flushing sys.stdout");
            }
            status = -1;
        }
        Py_XDECREF(r);
        PyErr_Clear();
    }
    return status;
}

/* The end of a run of the snapshot, instead of Py_FinalizeEx: what a
   program can observe of finalization (threads, atexit callbacks, stdio
   flushed, its open files closed), without deallocating every module and
   object, the snapshot's numpy among them, which is most of a short run's
   time. The process exits right after, so nothing else is left to free.
   As with `python`, objects alive at exit may not see __del__. */
static int finish(void) {
    static int finished;
    if (finished) {
        return 0;
    }
    finished = 1;
    PyObject *r = PyObject_CallNoArgs(helper("before_exit"));
    if (r == NULL) {
        PyErr_FormatUnraisable("Exception ignored before exiting");
    }
    Py_XDECREF(r);
    /* Last: whatever the steps above reported is in stderr's buffer. */
    return flush_std_files();
}

/* The link wraps CPython's two ways out (-Wl,--wrap, link.rs): Py_RunMain
   calls Py_FinalizeEx after the run, and an uncaught SystemExit calls
   Py_Exit. Plain runs, and the snapshotting process, finalize as usual. */
extern int __real_Py_FinalizeEx(void);
extern _Noreturn void __real_Py_Exit(int status);

int __wrap_Py_FinalizeEx(void) {
    return snapshot_ready ? finish() : __real_Py_FinalizeEx();
}

_Noreturn void __wrap_Py_Exit(int status) {
    if (!snapshot_ready) {
        __real_Py_Exit(status);
    }
    if (finish() < 0) {
        status = 120;
    }
    exit(status);
}

/* Called by the program's C++ main, which handles uncaught C++ exceptions. */
int faasm_py_main(int argc, char **argv) {
    if (snapshot_ready) {
        /* Read again from this run's WASI context, before anything (chdir
           below) resolves a path. */
        __wasilibc_deinitialize_environ();
        __wasilibc_initialize_environ();
        __wasilibc_reset_preopens();
    }
    /* WASI preview 1 has no working directory: the host names it in $PWD. */
    const char *pwd = getenv("PWD");
    if (pwd != NULL && pwd[0] != '\0' && chdir(pwd) != 0) {
        fprintf(stderr, "python.wasm: cannot enter the working directory %s: %s\n", pwd,
                strerror(errno));
        return 120;
    }
    if (snapshot_ready) {
        return resume(argc, argv);
    }
    if (faasm_py_register_modules() != 0) {
        fprintf(stderr, "python.wasm: cannot register the built-in modules\n");
        return 120;
    }
    return Py_BytesMain(argc, argv);
}
