! A legacy program nobody may change: areas of equilateral triangles, in a loop.
!   Build: gfortran -O0 -o area area.f90
! (At -O2 gfortran inlines area into the loop: an inlined function has no call
! to probe. Probing needs the function compiled out of line.)
!   Run:   ./area [iterations [pause_ms]]   (no arguments: forever, 100 ms pause)
! Each iteration prints the running number of calls, the side lengths and the
! area, so the count is known even when the program is killed.
program triangles
  use iso_c_binding, only: c_int
  implicit none
  interface
    integer(c_int) function usleep(us) bind(c, name='usleep')
      import :: c_int
      integer(c_int), value :: us
    end function usleep
  end interface
  real(8), external :: area
  real(8) :: side, a
  integer :: n, pause_ms, calls, rc
  character(len=32) :: arg

  n = -1
  pause_ms = 100
  if (command_argument_count() >= 1) then
    call get_command_argument(1, arg)
    read (arg, *) n
  end if
  if (command_argument_count() >= 2) then
    call get_command_argument(2, arg)
    read (arg, *) pause_ms
  end if

  calls = 0
  do while (n < 0 .or. calls < n)
    side = 1.0d0 + mod(calls, 10)
    a = area(side, side, side)
    calls = calls + 1
    print '(a, i0, a, 3f8.2, a, f10.4)', 'call ', calls, ': sides', side, side, side, '  area', a
    flush (6)
    if (pause_ms > 0) rc = usleep(pause_ms * 1000)
  end do
  print '(a, i0)', 'calls of area: ', calls
end program triangles

! Area of a triangle from its three sides: the angle between x and y by the law
! of cosines, then 1/2 x y sin(gamma).
real(8) function area(x, y, z)
  implicit none
  real(8), intent(in) :: x, y, z
  real(8) :: gamma
  gamma = acos((x * x + y * y - z * z) / (2.0d0 * x * y))
  area = 0.5d0 * x * y * sin(gamma)
end function area
