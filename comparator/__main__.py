from comparator.cli import main

raise SystemExit(main())
