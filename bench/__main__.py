import sys

if sys.argv[1:2] == ["reload"]:  # python -m bench reload: the live-reload benchmark
    from .reload import main as reload_main

    reload_main(sys.argv[2:])
elif sys.argv[1:2] == ["serve"]:  # python -m bench serve: the decision service against Cerbos
    from .serve import main as serve

    serve(sys.argv[2:])
elif sys.argv[1:2] == ["console"]:  # python -m bench console: the compliance console's pages at scale
    from .console import main as console

    console(sys.argv[2:])
else:
    from .run import main

    main()
