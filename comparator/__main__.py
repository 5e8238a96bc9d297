from comparator.cli.main import main

raise SystemExit(main())
