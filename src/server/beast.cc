// Compiles Boost.Asio and Boost.Beast once for the whole program
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are set
// on this library), instead of in every file that includes them. Asio's TLS
// layer is built here too, over OpenSSL (linked as OpenSSL::SSL).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
